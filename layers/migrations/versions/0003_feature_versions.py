"""a version on every editable layer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Buildings had an optimistic-concurrency ``version`` from the start; the API now guards
every layer it edits the same way, so the other layer tables get one too (existing rows
start at version 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    'streets',
    'communities',
    'grids',
    'compounds',
    'gates',
    'service_points',
    'candidate_venues',
    'barriers',
)


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column('version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, 'version')
