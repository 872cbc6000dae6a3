"""alert messages: what else the alert carries (value against threshold, flapping, cases, windows)

Revision ID: a7c3f1d2e9b4
Revises: a9c3e1f4b2d6
Create Date: 2026-12-06 12:00:00.000000

Issue 27 item 6: an alert message shows the evaluated value against its threshold, a flapping badge,
improving or worsening, the maintenance windows Kibana put it in, linked cases and its deep link, from
alerts-as-data and from the webhook body where it has them (handlers/alerts/card_facts.py). They are
kept beside the alert's row as JSON, so that every later render of its message shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3f1d2e9b4"
down_revision: str | Sequence[str] | None = "a9c3e1f4b2d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_messages") as batch:
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_messages") as batch:
        batch.drop_column("facts")
