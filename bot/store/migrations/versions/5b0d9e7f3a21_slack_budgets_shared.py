"""slack_budgets: Slack's rate-limit buckets shared by the replicas (PostgreSQL)

Revision ID: 5b0d9e7f3a21
Revises: d1a5c3e8f207
Create Date: 2026-12-06 08:20:00.000000

Each replica paced Slack on its own, so N replicas spent N times a method's budget and then waited
out the 429s they caused (issue 25). On PostgreSQL the replicas now take their tokens from one row
per bucket, and a Retry-After one of them is given closes the bucket for all (bot/slack_ledger.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0d9e7f3a21"
down_revision: str | Sequence[str] | None = "d1a5c3e8f207"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_budgets",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", Utc, nullable=False),
        sa.Column("closed_until", Utc, nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("slack_budgets")
