"""events: the community blows the whistle, departments report (基层吹哨、部门报到)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Departments and their users; a two-level tree of event categories with each subclass's
department, handling hours and duplicate distance (a default tree, which communities edit);
events with their place and workflow status, and their steps (the timeline). The workflow's
steps are rows of ``event_transitions`` and a trigger refuses any other change of status, so
no path to the table (API, import, plain SQL) can close an event never handled.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "reported",
    "filed",
    "cancelled",
    "dispatched",
    "accepted",
    "handled",
    "fed_back",
    "verified",
    "closed",
)
SOURCES = ("map", "field", "open311", "api", "import")
#: The workflow's steps (docs/events.md): from -> to.
TRANSITIONS = (
    ("reported", "filed"),
    ("reported", "cancelled"),
    ("filed", "cancelled"),
    ("filed", "dispatched"),
    ("dispatched", "accepted"),
    ("dispatched", "filed"),
    ("accepted", "handled"),
    ("handled", "fed_back"),
    ("fed_back", "verified"),
    ("fed_back", "accepted"),
    ("verified", "closed"),
)
DEPARTMENTS = (
    ("HWS", "环卫所"),
    ("CGZF", "城管执法中队"),
    ("LDS", "路灯管理所"),
    ("SZS", "市政设施所"),
    ("GSGS", "供水公司"),
    ("JJ", "交警中队"),
    ("PCS", "派出所"),
    ("FGS", "房管所"),
    ("YLS", "园林绿化所"),
)
#: (code, name, parent, department, handling hours, duplicate metres)
CATEGORIES = (
    ("SR", "市容环境", None, None, 72, 50),
    ("SR01", "暴露垃圾", "SR", "HWS", 24, 50),
    ("SR02", "乱堆物料", "SR", "CGZF", 48, 50),
    ("SR03", "占道经营", "SR", "CGZF", 24, 50),
    ("SR04", "乱张贴、乱涂写", "SR", "CGZF", 48, 50),
    ("GY", "公用设施", None, None, 72, 50),
    ("GY01", "路灯损坏", "GY", "LDS", 72, 50),
    ("GY02", "井盖缺失、破损", "GY", "SZS", 24, 30),
    ("GY03", "供水管道破裂", "GY", "GSGS", 24, 50),
    ("JM", "街面秩序", None, None, 72, 50),
    ("JM01", "乱停车", "JM", "JJ", 24, 30),
    ("JM02", "噪声扰民", "JM", "PCS", 24, 50),
    ("FW", "房屋建筑", None, None, 72, 50),
    ("FW01", "违法建设", "FW", "CGZF", 168, 30),
    ("FW02", "房屋漏水", "FW", "FGS", 72, 20),
    ("YL", "园林绿化", None, None, 72, 50),
    ("YL01", "绿地脏乱", "YL", "YLS", 48, 50),
    ("YL02", "树木倒伏、枯死", "YL", "YLS", 24, 50),
)

STATUS_FUNCTION = """
CREATE FUNCTION gridmap_event_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'reported'
           AND coalesce(current_setting('gridmap.channel', true), '') <> 'import' THEN
            RAISE EXCEPTION 'event %: a new event starts as reported, not %', NEW.code, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM event_transitions t
        WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'event %: % -> % is no step of the workflow', NEW.code, OLD.status,
            NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    departments = op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_table(
        "department_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        _fk("department_users", "user_id", "users", "CASCADE"),
        _fk("department_users", "department_id", "departments", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "department_id", name=op.f("pk_department_users")),
    )
    _index("department_users", "department_id")
    op.create_table(
        "event_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("handle_hours", sa.Float(), server_default="72", nullable=False),
        sa.Column("duplicate_m", sa.Float(), server_default="50", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint("handle_hours > 0", name=op.f("ck_event_categories_handle_hours_min")),
        sa.CheckConstraint("duplicate_m >= 0", name=op.f("ck_event_categories_duplicate_m_min")),
        _fk("event_categories", "parent_id", "event_categories", "SET NULL"),
        _fk("event_categories", "department_id", "departments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_event_categories_code")),
    )
    _index("event_categories", "parent_id", "department_id")
    transitions = op.create_table(
        "event_transitions",
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("from_status", "to_status", name=op.f("pk_event_transitions")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("officer", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("reporter", sa.String(length=128), nullable=False),
        sa.Column("reporter_name", sa.String(length=64), nullable=True),
        sa.Column("reporter_phone", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="reported", nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_events_status_choice")),
        sa.CheckConstraint(f"source IN {SOURCES}", name=op.f("ck_events_source_choice")),
        sa.CheckConstraint(
            "char_length(description) BETWEEN 1 AND 2000",
            name=op.f("ck_events_description_length"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_events_version_min")),
        _fk("events", "community_id", "communities", "CASCADE"),
        _fk("events", "grid_id", "grids", "SET NULL"),
        _fk("events", "compound_id", "compounds", "SET NULL"),
        _fk("events", "building_id", "buildings", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["event_categories.id"],
            name=op.f("fk_events_category_id_event_categories"),
        ),
        _fk("events", "department_id", "departments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("code", name=op.f("uq_events_code")),
    )
    _index(
        "events",
        "community_id",
        "grid_id",
        "compound_id",
        "building_id",
        "category_id",
        "department_id",
    )
    op.create_index("ix_events_community_id_status", "events", ["community_id", "status"])
    op.create_geospatial_index(
        "idx_events_geom",
        "events",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "event_steps",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("by_user", sa.String(length=128), nullable=False),
        sa.Column("by_role", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("event_steps", "event_id", "events", "CASCADE"),
        _fk("event_steps", "department_id", "departments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_steps")),
    )
    _index("event_steps", "event_id", "department_id")
    op.bulk_insert(transitions, [{"from_status": a, "to_status": b} for a, b in TRANSITIONS])
    op.bulk_insert(departments, [{"code": c, "name": n} for c, n in DEPARTMENTS])
    for code, name, parent, department, hours, dup in CATEGORIES:
        op.execute(
            sa.text(
                "INSERT INTO event_categories (code, name, parent_id, department_id, "
                "handle_hours, duplicate_m) VALUES (:code, :name, "
                "(SELECT id FROM event_categories WHERE code = :parent), "
                "(SELECT id FROM departments WHERE code = :department), :hours, :dup)"
            ).bindparams(
                code=code, name=name, parent=parent, department=department, hours=hours, dup=dup
            )
        )
    op.execute(STATUS_FUNCTION)
    op.execute(
        "CREATE TRIGGER event_status BEFORE INSERT OR UPDATE OF status ON events "
        "FOR EACH ROW EXECUTE FUNCTION gridmap_event_status()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_status ON events")
    op.execute("DROP FUNCTION gridmap_event_status()")
    op.drop_table("event_steps")
    op.drop_table("events")
    op.drop_table("event_transitions")
    op.drop_table("event_categories")
    op.drop_table("department_users")
    op.drop_table("departments")
