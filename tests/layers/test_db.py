"""The local cluster and the migrations, on the real PostGIS the test run started."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, inspect, text

from layers import db
from layers.models import Base


def test_cluster_is_postgis_on_loopback(cluster: db.LocalCluster, engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar().startswith("3")
        assert conn.execute(text("SHOW listen_addresses")).scalar() == "127.0.0.1"
    assert db.cluster_status(cluster.datadir.parent, dbname=cluster.dbname) == cluster


def test_cluster_up_is_idempotent(cluster: db.LocalCluster) -> None:
    again = db.cluster_up(cluster.datadir.parent, dbname=cluster.dbname)
    assert again.port == cluster.port


def test_migrations_match_models(engine: Engine) -> None:
    """Alembic finds nothing to generate: the migration and the models agree."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": alembic_helpers.include_object,
                "compare_type": True,
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    url = str(engine.url.render_as_string(hide_password=False))
    assert db.current_revision(url) == db.head_revision()


def test_downgrade_and_upgrade(fresh_db: str) -> None:
    db.downgrade(fresh_db, "base")
    engine = db.make_engine(fresh_db)
    try:
        assert "buildings" not in inspect(engine).get_table_names()
        db.migrate(fresh_db, "head")
        names = set(inspect(engine).get_table_names())
        assert {"buildings", "walk_edges", "gates", "candidate_venues"} <= names
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("buildings")}
        assert "idx_buildings_geom" in indexes  # the spatial index
    finally:
        engine.dispose()


def test_normalise_url() -> None:
    assert db.normalise_url("postgresql://u:p@h:5/d") == "postgresql+psycopg://u:p@h:5/d"
    assert db.normalise_url("postgresql+psycopg://h/d") == "postgresql+psycopg://h/d"
