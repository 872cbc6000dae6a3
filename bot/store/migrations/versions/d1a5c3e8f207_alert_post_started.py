"""alert groups: when a post of the group's message was started, until Slack's ts is recorded

Revision ID: d1a5c3e8f207
Revises: b7d4e2a91c35
Create Date: 2026-12-04 10:00:00.000000

A replica that died after Slack took a group's message but before the store recorded its `ts` posted
it again when the group was taken over (issue 25). The publisher now records when it starts a post
(`post_started_at`); a group found with it set and no `ts` may be in Slack already, and is looked for
in the channel's history (by the group's id in the message's metadata) before it is posted again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1a5c3e8f207"
down_revision: str | Sequence[str] | None = "b7d4e2a91c35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert_groups") as batch:
        batch.add_column(sa.Column("post_started_at", Utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_groups") as batch:
        batch.drop_column("post_started_at")
