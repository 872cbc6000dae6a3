"""alert messages: an index on the alert's uuid

Revision ID: a9c41e7d3b20
Revises: a7c3f1d2e9b4
Create Date: 2026-12-06 12:00:00.000000

A Kibana link to an alert (`kibana.alert.url`: `/app/observability/alerts/<uuid>`) names only its
uuid; the unfurl finds the alert the bot recorded by it (issue 29), which without this index read the
whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a9c41e7d3b20"
down_revision: str | Sequence[str] | None = "a7c3f1d2e9b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alert_messages_uuid", "alert_messages", ["alert_uuid"])


def downgrade() -> None:
    op.drop_index("ix_alert_messages_uuid", table_name="alert_messages")
