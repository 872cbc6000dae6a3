"""timed_mutes: mutes with an end, unmuted once by the bot; reminders before mutes and snoozes end (issue 27)

Revision ID: a4d8e2c6f913
Revises: a9c41e7d3b20
Create Date: 2026-12-06 11:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4d8e2c6f913"
down_revision: str | Sequence[str] | None = "a9c41e7d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "timed_mutes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=255), nullable=False),
        sa.Column("alert_id", sa.String(length=512), nullable=True),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("ends_at", Utc, nullable=True),
        sa.Column("remind_at", Utc, nullable=True),
        sa.Column("reminded_at", Utc, nullable=True),
        sa.Column("ended_at", Utc, nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", Utc, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("thread_ts", sa.String(length=64), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_timed_mutes_ends_at", "timed_mutes", ["ends_at"])
    op.create_index("ix_timed_mutes_rule", "timed_mutes", ["space", "rule_id"])
    with op.batch_alter_table("snooze_schedules") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("thread_ts", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("remind_at", Utc, nullable=True))
        batch.add_column(sa.Column("reminded_at", Utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snooze_schedules") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("remind_at")
        batch.drop_column("thread_ts")
        batch.drop_column("channel")
    op.drop_index("ix_timed_mutes_rule", table_name="timed_mutes")
    op.drop_index("ix_timed_mutes_ends_at", table_name="timed_mutes")
    op.drop_table("timed_mutes")
