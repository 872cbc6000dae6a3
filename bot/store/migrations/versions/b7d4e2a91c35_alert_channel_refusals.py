"""alert groups: the channel Slack refused for good, and when

Revision ID: b7d4e2a91c35
Revises: c4e7a9d2f5b1
Create Date: 2026-12-03 09:30:00.000000

A channel Slack refuses for good (channel_not_found, is_archived, not_in_channel…) was retried
forever, by the publisher and by Kibana (issue 25). The group now remembers Slack's error for its
channel (`refused`) and when (`refused_at`): its alerts are shown in ALERT_CHANNEL instead, or not at
all, and `python -m bot check` lists the channels refused recently.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d4e2a91c35"
down_revision: str | Sequence[str] | None = "c4e7a9d2f5b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert_groups") as batch:
        batch.add_column(sa.Column("refused", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("refused_at", Utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_groups") as batch:
        batch.drop_column("refused_at")
        batch.drop_column("refused")
