"""One user of each role on the test community T1, with a bearer token each (tests of access).

T1 has grids G1 (buildings B1, B2) and G2 (B3); officers and field staff work in G1 only.
The fixture ``world`` (``tests/api/conftest.py``) builds this on a fresh database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gis_api import auth
from gis_api.app import create_app
from gis_api.settings import Settings
from layers import accounts, db

PASSWORD = "correct-horse-9"
#: role -> (username, grids): officers and field staff work in G1 only.
USERS = {
    "admin": ("u-admin", ()),
    "planner": ("u-planner", ()),
    "officer": ("u-officer", ("G1",)),
    "field": ("u-field", ("G1",)),
    "department": ("u-department", ()),
    "viewer": ("u-viewer", ()),
}


@dataclass
class World:
    """The app on T1, its engine, and a bearer token per role."""

    client: TestClient
    engine: Engine
    tokens: dict[str, str]
    settings: Settings

    def as_(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def fid(self, layer: str, code: str) -> int:
        with self.engine.connect() as conn:
            table = {"buildings": "buildings", "service_points": "service_points"}[layer]
            found = conn.execute(
                text(f"SELECT id FROM {table} WHERE code = :c"), {"c": code}
            ).scalar()
            return 0 if found is None else int(found)  # 0: deleted by an earlier write

    def version(self, layer: str, code: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text(f"SELECT version FROM {layer} WHERE code = :c"), {"c": code}
                ).scalar()
            )


def make_world(t1_db: str) -> Iterator[World]:
    """Yield the app on ``t1_db`` with one user of each role of :data:`USERS`."""
    settings = Settings(database_url=t1_db)
    engine = db.make_engine(t1_db)
    tokens = {}
    with db.session_scope(engine) as session:
        for role, (username, grids) in USERS.items():
            uid = accounts.add_user(
                session,
                username,
                role=role,
                password_hash=auth.hash_password(PASSWORD),
                communities=["T1"],
                grids=list(grids),
            )
            tokens[role] = auth.issue(session, uid, "api", settings).token
    with TestClient(create_app(settings)) as client:
        yield World(client, engine, tokens, settings)
    engine.dispose()
