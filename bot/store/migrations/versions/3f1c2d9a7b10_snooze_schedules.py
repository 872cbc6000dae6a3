"""snooze schedules the bot created

Revision ID: 3f1c2d9a7b10
Revises: e83025bac950
Create Date: 2026-12-01 22:10:00.000000

Kibana's public rule API does not show a rule's snooze schedules, so the bot remembers the ones it
creates (rule, space, schedule id, end, who) for `unsnooze` and "snoozed until".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1c2d9a7b10"
down_revision: str | Sequence[str] | None = "e83025bac950"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "snooze_schedules",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=255), nullable=False),
        sa.Column("schedule_id", sa.String(length=255), nullable=False),
        sa.Column("ends_at", Utc, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("space", "rule_id", "schedule_id", name="uq_snooze_schedules_schedule"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("snooze_schedules")
