"""events: a covering index for the dashboard's figures of one community

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

The dashboard (``/api/events/stats``, :mod:`layers.event_stats`) reads a community's events
several times (by status, department, category, year, grid). Events of one community are
spread over the table's pages (they arrive with everyone else's), so each read fetched one
page per event; with the columns it reads included in the index, the reads are index-only
(bench/bench_events.py: 200,000 events over 50 communities).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDE = (
    "status",
    "grid_id",
    "category_id",
    "department_id",
    "reported_at",
    "closed_at",
    "due_at",
)


def upgrade() -> None:
    op.create_index(
        "ix_events_community_id_figures",
        "events",
        ["community_id"],
        unique=False,
        postgresql_include=list(INCLUDE),
    )


def downgrade() -> None:
    op.drop_index("ix_events_community_id_figures", table_name="events")
