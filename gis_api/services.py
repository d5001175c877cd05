"""Glue used by both the CLI and the routes: find the database, run imports, load demos."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis_api.settings import PROJECT_ROOT, Settings
from layers import db
from layers.errors import GridmapError
from layers.exporting import ExportReport
from layers.exporting import export_layer as _export_layer
from layers.importing import Options, import_file, load_mapping
from layers.reports import ImportReport, Progress
from layers.schema import LAYERS

__all__ = ["PROJECT_ROOT", "ImportReport", "Progress"]


class DatabaseUnavailable(GridmapError):
    """No database to talk to: the local cluster is down or DATABASE_URL is unreachable."""

    type = "database_unavailable"
    status = 503


def safe_url(url: str) -> str:
    """``url`` with any password hidden, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def database_url(settings: Settings) -> str:
    """Return the database to use: ``DATABASE_URL`` or the running local cluster."""
    if settings.database_url:
        return settings.database_url
    cluster = db.cluster_status(settings.local_db_dir)
    if cluster is None:
        msg = "本地数据库未启动：请先运行 gridmap db up（或设置 DATABASE_URL）"
        raise DatabaseUnavailable(msg, loc=("database",))
    return cluster.url


@contextlib.contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    """Yield an engine on the configured database, disposed afterwards."""
    engine = db.make_engine(database_url(settings))
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def transaction(settings: Settings, *, channel: str = "cli") -> Iterator[Session]:
    """One session in one transaction: committed on success, rolled back on any error.

    The command line acts as the local administrator ``settings.cli_user`` (no login on the
    server itself); the history records its changes under that name and ``channel``.
    """
    with engine_for(settings) as engine:
        try:
            with db.session_scope(engine) as session:
                db.act_as(session, settings.cli_user, channel)
                yield session
        except OperationalError as exc:
            msg = f"无法连接数据库 {safe_url(str(engine.url))}：{exc.orig}"
            raise DatabaseUnavailable(msg, loc=("database",)) from exc


def db_up(settings: Settings) -> tuple[str, str]:
    """Start (or reach) the database and migrate it; return its URL and a description."""
    if settings.database_url:
        url, where = settings.database_url, "DATABASE_URL 指定的数据库"
        db.ensure_postgis(url)
    else:
        cluster = db.cluster_up(settings.local_db_dir)
        url = cluster.url
        where = f"项目自带 PostGIS（{cluster.datadir}，端口 {cluster.port}）"
    db.migrate(url)
    return url, where


def db_down(settings: Settings) -> str:
    """Stop the project-local cluster; say what happened."""
    if settings.database_url:
        return "使用 DATABASE_URL 指定的数据库，无需停止"
    return "本地数据库已停止" if db.cluster_down(settings.local_db_dir) else "本地数据库未在运行"


def db_migrate(settings: Settings) -> str | None:
    """Upgrade the database to the newest revision; return the revision."""
    url = database_url(settings)
    db.migrate(url)
    return db.current_revision(url)


def db_status(settings: Settings) -> dict[str, object]:
    """Where the database is, its PostGIS and revision, and feature counts per layer."""
    url = database_url(settings)
    where = "DATABASE_URL" if settings.database_url else "项目自带 PostGIS"
    revision = db.current_revision(url)
    counts: dict[str, int] = {}
    with engine_for(settings) as engine, engine.connect() as conn:
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        if revision:
            for layer in (*LAYERS, "walk_ways", "walk_edges"):
                table = LAYERS[layer].table if layer in LAYERS else layer
                counts[layer] = int(
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                )
    return {
        "where": where,
        "url": safe_url(url),
        "postgis": postgis,
        "revision": revision or "（未迁移）",
        "counts": counts,
    }


def import_layer(
    settings: Settings,
    layer: str,
    path: Path,
    *,
    crs: str | None = None,
    community: str | None = None,
    mapping: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file into one layer, in one transaction."""
    with transaction(settings, channel="import") as session:
        if layer == "network":
            from layers.walkways import import_network

            if community is None:
                community = _only_community(session)
            return import_network(
                session,
                path,
                community=community,
                crs=crs,
                buffer_m=settings.network_buffer_m,
                gate_tolerance_m=settings.gate_tolerance_m,
                progress=progress,
            )
        options = Options(
            crs=crs,
            community=community,
            mapping=load_mapping(mapping) if mapping else None,
            boundary_tolerance_m=settings.boundary_tolerance_m,
            gate_tolerance_m=settings.gate_tolerance_m,
        )
        return import_file(session, layer, path, options=options, progress=progress)


def _only_community(session: Session) -> str:
    codes = list(session.execute(text("SELECT code FROM communities")).scalars())
    if len(codes) != 1:
        msg = "请用 --community 指定路网所属的社区编号"
        raise GridmapError(msg, loc=("community",))
    return str(codes[0])


def export_layer(
    settings: Settings,
    layer: str,
    path: Path,
    *,
    crs: str | None = None,
    community: str | None = None,
    headers: str = "en",
) -> ExportReport:
    """Export one layer to a file."""
    with transaction(settings) as session:
        return _export_layer(session, layer, path, crs=crs, community=community, headers=headers)


def load_demo(
    settings: Settings, place: str, *, progress: Progress | None = None
) -> list[ImportReport]:
    """Load a demo place (``qiaohua`` generated, ``haidian`` real OSM) in one transaction."""
    from layers.demo import load_place

    with transaction(settings, channel="import") as session:
        return load_place(
            session,
            place,
            gate_tolerance_m=settings.gate_tolerance_m,
            network_buffer_m=settings.network_buffer_m,
            progress=progress,
        )


#: The demo's users: one of each role, in the demo community and (officer, field) its first
#: grid. Their passwords are made when they are created and shown once.
DEMO_USERS = (
    ("admin", "admin", "演示管理员"),
    ("planner", "planner", "演示社区书记"),
    ("officer", "officer", "演示网格员"),
    ("field", "field", "演示扫楼员"),
    ("department", "department", "演示部门人员"),
    ("viewer", "viewer", "演示只读用户"),
)


#: The department the demo's department user acts for.
DEMO_DEPARTMENT = "LDS"


def demo_users(settings: Settings, community: str) -> list[tuple[str, str, str]]:
    """Create the demo users that do not exist yet; return (username, role, password) of each.

    Users that exist keep their password (shown as ``""``) and are added to ``community``.
    """
    from sqlalchemy import text

    from gis_api.auth import hash_password, new_password
    from layers import accounts

    out = []
    with transaction(settings) as session:
        grid = session.execute(
            text(
                "SELECT g.code FROM grids g JOIN communities c ON c.id = g.community_id "
                "WHERE c.code = :c ORDER BY g.code LIMIT 1"
            ),
            {"c": community},
        ).scalar_one_or_none()
        for username, role, name in DEMO_USERS:
            grids = [grid] if grid and role in ("officer", "field") else []
            user = accounts.find_user(session, username)
            if user is None:
                password = new_password()
                accounts.add_user(
                    session,
                    username,
                    role=role,
                    password_hash=hash_password(password),
                    communities=[community],
                    grids=grids,
                    display_name=name,
                )
                out.append((username, role, password))
            else:
                accounts.set_memberships(
                    session,
                    user.id,
                    communities=sorted({*user.community_codes, community}),
                    grids=sorted({*user.grid_codes, *grids}),
                )
                out.append((username, role, ""))
            if role == "department":  # the demo's department: street lights (路灯管理所)
                from layers.events import add_department_user

                add_department_user(session, username, DEMO_DEPARTMENT)
    return out


def add_user(
    settings: Settings,
    username: str,
    *,
    role: str,
    password: str,
    communities: list[str],
    grids: list[str],
    display_name: str | None = None,
    departments: list[str] | None = None,
) -> None:
    """Create a user (``gridmap user add``), acting for ``departments`` (event handling)."""
    from gis_api.auth import hash_password
    from layers import accounts
    from layers.errors import GridmapError
    from layers.events import add_department_user

    if departments and role != "department":
        msg = "只有职能部门人员（--role department）可以指定 --department"
        raise GridmapError(msg, loc=("department",))
    with transaction(settings) as session:
        accounts.add_user(
            session,
            username,
            role=role,
            password_hash=hash_password(password),
            communities=communities,
            grids=grids,
            display_name=display_name,
        )
        for code in departments or []:
            add_department_user(session, username, code)


def personal_token(settings: Settings, username: str, name: str) -> str:
    """Issue a personal access token (for QGIS) for a user; return it (shown once)."""
    from gis_api.auth import issue
    from layers import accounts
    from layers.errors import NotFound

    with transaction(settings) as session:
        user = accounts.find_user(session, username)
        if user is None:
            msg = f"用户“{username}”不存在"
            raise NotFound(msg, loc=("username",))
        return issue(session, user.id, "personal", settings, name=name).token


def generate_city(
    settings: Settings,
    *,
    buildings: int,
    seed: int,
    out: Path | None,
    load: bool,
    progress: Progress | None = None,
) -> str:
    """Generate a city of ``buildings`` buildings; write it to ``out`` and/or the database."""
    from layers.demo import load_city, write_city
    from layers.synth import generate_city as _generate

    started = time.perf_counter()
    if progress:
        progress("build", 0, 1)
    city = _generate(n_buildings=buildings, seed=seed)
    if progress:
        progress("build", 1, 1)
    n = {name: len(frame) for name, frame in city.layers.items()}
    lines = [
        f"已生成：{n['communities']} 个社区、{n['compounds']} 个小区、"
        f"{n['buildings']} 栋楼、{len(city.ways)} 条道路"
        f"（{time.perf_counter() - started:.1f} s）"
    ]
    if out is not None:
        write_city(city, out)
        lines.append(f"已写入 {out}")
    if load:
        with transaction(settings) as session:
            edges = load_city(session, city, progress=progress)
        lines.append(f"已写入数据库：路网 {edges} 条边（{time.perf_counter() - started:.1f} s）")
    return "\n".join(lines)
