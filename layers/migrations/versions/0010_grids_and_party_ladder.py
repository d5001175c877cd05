"""grids and the party organisation ladder: grid residents and locks, party organisations

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Grids get their residents (a delineated grid holds at most 2,500) and a lock: a locked grid
is kept as it is when the community's grids are redrawn (docs/grids.md). Party organisations
(党组织) are the ladder of docs/grids.md: the community committee (社区党委), grid-zone
branches (网格党支部), compound branches (小区党支部) and building party groups (楼栋党小组),
each with its parent, the grid, compound or building it covers, its members and its
secretary (personal data: masked for roles that may not see it). The history records them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("committee", "grid_branch", "compound_branch", "building_group")


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_party_organisations_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.add_column("grids", sa.Column("residents", sa.Integer(), nullable=True))
    op.add_column(
        "grids", sa.Column("locked", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_check_constraint(op.f("ck_grids_residents_min"), "grids", "residents >= 0")
    op.create_table(
        "party_organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("members", sa.Integer(), server_default="0", nullable=False),
        sa.Column("secretary_name", sa.Text(), nullable=True),
        sa.Column("secretary_phone", sa.String(length=32), nullable=True),
        sa.Column(
            "chairs_owners_committee", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"kind IN {KINDS}", name=op.f("ck_party_organisations_kind_choice")),
        sa.CheckConstraint("members >= 0", name=op.f("ck_party_organisations_members_min")),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_party_organisations_name_length")
        ),
        sa.CheckConstraint(
            "kind <> 'grid_branch' OR grid_id IS NOT NULL",
            name=op.f("ck_party_organisations_grid_branch_grid"),
        ),
        sa.CheckConstraint(
            "kind <> 'compound_branch' OR compound_id IS NOT NULL",
            name=op.f("ck_party_organisations_compound_branch_compound"),
        ),
        sa.CheckConstraint(
            "kind <> 'building_group' OR building_id IS NOT NULL",
            name=op.f("ck_party_organisations_building_group_building"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_party_organisations_version_min")),
        _fk("community_id", "communities", "CASCADE"),
        _fk("parent_id", "party_organisations", "SET NULL"),
        _fk("grid_id", "grids", "SET NULL"),
        _fk("compound_id", "compounds", "SET NULL"),
        _fk("building_id", "buildings", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_organisations")),
        sa.UniqueConstraint(
            "community_id", "code", name=op.f("uq_party_organisations_community_id")
        ),
    )
    for column in ("community_id", "parent_id", "grid_id", "compound_id", "building_id"):
        op.create_index(op.f(f"ix_party_organisations_{column}"), "party_organisations", [column])
    for op_name, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER history_{op_name.lower()} AFTER {op_name} ON party_organisations "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION gridmap_history()"
        )


def downgrade() -> None:
    op.drop_table("party_organisations")
    op.drop_constraint(op.f("ck_grids_residents_min"), "grids", type_="check")
    op.drop_column("grids", "locked")
    op.drop_column("grids", "residents")
