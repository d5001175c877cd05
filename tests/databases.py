"""Throwaway databases of the test cluster, and a fingerprint of one to prove nothing changed.

The cluster's ``gridmap_template`` database is migrated once (``tests/conftest.py``); every
database a test commits to is a copy of it (:func:`fresh_database`), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from layers import accounts, db
from layers.models import Base

TEMPLATE = "gridmap_template"


@dataclass
class Credentials:
    """How the tests act as the template's administrator: an API token and a page session."""

    username: str = ""
    api_token: str = ""
    session_token: str = ""
    csrf: str = ""

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of the API token."""
        assert self.api_token, "the test cluster has not made its administrator yet"
        return {"Authorization": f"Bearer {self.api_token}"}


#: The administrator every test database holds (made once in the template by the cluster
#: fixture, so every copy has it); tests about roles make their own users.
ADMIN = Credentials()


def make_admin(url: str) -> None:
    """Create the tests' administrator in the database at ``url`` and fill :data:`ADMIN`."""
    from gis_api import auth
    from gis_api.settings import Settings

    settings = Settings(database_url=url)
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            uid = accounts.add_user(
                session,
                "test-admin",
                role="admin",
                password_hash=auth.hash_password("test-admin-password"),
                display_name="测试管理员",
            )
            api = auth.issue(session, uid, "api", settings)
            page = auth.issue(session, uid, "session", settings)
    finally:
        engine.dispose()
    ADMIN.username = "test-admin"
    ADMIN.api_token = api.token
    ADMIN.session_token = page.token
    ADMIN.csrf = page.csrf or ""


def admin_headers() -> dict[str, str]:
    """The header that makes a request the tests' administrator's."""
    return ADMIN.headers()


def admin(cluster: db.LocalCluster) -> psycopg.Connection[tuple[object, ...]]:
    """A superuser connection to the cluster's ``postgres`` database, in autocommit."""
    return psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user={db.SUPERUSER} dbname=postgres",
        autocommit=True,
    )


@contextmanager
def fresh_database(cluster: db.LocalCluster, engine: Engine, prefix: str = "t") -> Iterator[str]:
    """The URL of a fresh copy of the migrated template, dropped afterwards.

    ``engine`` (the template's) is disposed of first: a database with open connections cannot
    be copied.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine.dispose()
    with admin(cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    try:
        yield db.LocalCluster(cluster.datadir, cluster.port, name).url
    finally:
        with admin(cluster) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def snapshot(conn: Session | Engine) -> dict[str, tuple[int, str]]:
    """Row count and content checksum of every table of ours, to prove nothing changed.

    The tables are those of the models' metadata (``layers.models``), so a new table is
    covered as soon as it has a model; Alembic's ``alembic_version`` has none and is left out.
    Rows are checksummed in primary-key order.
    """
    out = {}
    for table in Base.metadata.sorted_tables:
        order = ", ".join(f"t.{column.name}" for column in table.primary_key.columns)
        sql = text(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY {order})), '') "
            f"FROM {table.name} t"
        )
        if isinstance(conn, Session):
            row = conn.execute(sql).one()
        else:
            with conn.connect() as c:
                row = c.execute(sql).one()
        out[table.name] = (int(row[0]), str(row[1]))
    return out
