"""slack_replays: signatures of recent signed Slack requests, so a replay is answered without acting

Revision ID: e83025bac950
Revises: 68b6c4a6b701
Create Date: 2026-12-01 22:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e83025bac950"
down_revision: str | Sequence[str] | None = "68b6c4a6b701"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_replays",
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("seen_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    op.create_index("ix_slack_replays_seen_at", "slack_replays", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_slack_replays_seen_at", table_name="slack_replays")
    op.drop_table("slack_replays")
