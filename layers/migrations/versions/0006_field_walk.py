"""field staff's walk: visit date and note on buildings, photos, conflicts waiting

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Buildings get the day of the last visit and a note; photos are their own rows linked to a
building (history records them without their bytes); an edit refused for colliding fields
is kept until its author decides, so the officer's map can list what is waiting.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: A photo's bytes are not copied into the history; what it is, who took it and when are.
PHOTO_HIDDEN = ("image", "thumb")


def _photo_triggers() -> list[str]:
    args = ", ".join(f"'{h}'" for h in PHOTO_HIDDEN)
    out = []
    for op_name, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        out.append(
            f"CREATE TRIGGER history_{op_name.lower()} AFTER {op_name} ON building_photos "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION gridmap_history({args})"
        )
    return out


def upgrade() -> None:
    op.add_column("buildings", sa.Column("visited_on", sa.Date(), nullable=True))
    op.add_column("buildings", sa.Column("note", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_buildings_visited_on_min"), "buildings", "visited_on >= DATE '2000-01-01'"
    )
    op.create_check_constraint(
        op.f("ck_buildings_note_length"), "buildings", "char_length(note) <= 500"
    )
    op.create_table(
        "building_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.UUID(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("taken_by", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint("bytes > 0", name=op.f("ck_building_photos_bytes_min")),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_building_photos_size_min")),
        sa.CheckConstraint(
            "char_length(caption) <= 200", name=op.f("ck_building_photos_caption_length")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_building_photos_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_building_photos_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building_photos")),
        sa.UniqueConstraint("uid", name=op.f("uq_building_photos_uid")),
    )
    op.create_index(
        op.f("ix_building_photos_building_id"), "building_photos", ["building_id"], unique=False
    )
    op.create_index(
        op.f("ix_building_photos_community_id"), "building_photos", ["community_id"], unique=False
    )
    for statement in _photo_triggers():
        op.execute(statement)
    op.create_table(
        "edit_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "resolution IN ('merged', 'dismissed')",
            name=op.f("ck_edit_conflicts_resolution_choice"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_conflicts")),
    )
    op.create_index(
        "ix_edit_conflicts_open",
        "edit_conflicts",
        ["layer", "feature_id"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_edit_conflicts_open", table_name="edit_conflicts")
    op.drop_table("edit_conflicts")
    op.drop_table("building_photos")
    op.drop_constraint(op.f("ck_buildings_note_length"), "buildings", type_="check")
    op.drop_constraint(op.f("ck_buildings_visited_on_min"), "buildings", type_="check")
    op.drop_column("buildings", "note")
    op.drop_column("buildings", "visited_on")
