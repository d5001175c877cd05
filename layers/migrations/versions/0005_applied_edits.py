"""edits applied once: the Idempotency-Key of a resent edit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Field staff's tablets resend edits they are not sure arrived; each carries a key, and the
first delivery's answer is kept under it, so a resend is answered and not applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'applied_edits',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('layer', sa.String(length=32), nullable=False),
        sa.Column('feature_id', sa.Integer(), nullable=False),
        sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.PrimaryKeyConstraint('username', 'key', name=op.f('pk_applied_edits')),
    )


def downgrade() -> None:
    op.drop_table('applied_edits')
