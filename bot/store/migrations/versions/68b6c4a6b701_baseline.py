"""baseline: the tables of the releases before the schema was versioned

Revision ID: 68b6c4a6b701
Revises:
Create Date: 2026-12-01 21:28:12.090972

Exactly what those releases' `metadata.create_all` made; a database they created is adopted by
stamping it at this revision (bot/store/migrate.py). Never edit it: add another revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "68b6c4a6b701"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments INTEGER PRIMARY KEY columns (schema.Id).
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "claim_keys",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", Utc, nullable=False),
        sa.Column("expires_at", Utc, nullable=True),
        sa.PrimaryKeyConstraint("namespace", "key"),
    )
    op.create_table(
        "alert_messages",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=255), nullable=False),
        sa.Column("alert_id", sa.String(length=512), nullable=False),
        sa.Column("alert_uuid", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", Utc, nullable=False),
        sa.Column("posted_at", Utc, nullable=True),
        sa.Column("recovered_at", Utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("space", "rule_id", "alert_id", "alert_uuid", name="uq_alert_messages_alert"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_message_content",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status_lines", sa.Text(), nullable=False),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts"),
    )
    op.create_table(
        "cases",
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("message_ts", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=255), nullable=True),
        sa.Column("case_url", sa.Text(), nullable=True),
        sa.Column("claimed_at", Utc, nullable=False),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("dedupe_key"),
    )
    op.create_index("ix_cases_message", "cases", ["channel", "message_ts"])
    op.create_table(
        "subscriptions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("schedule", sa.String(length=255), nullable=False),
        sa.Column("cron", sa.String(length=255), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("on_change", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("config_key", sa.String(length=64), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("last_health", sa.Text(), nullable=True),
        sa.Column("last_health_at", Utc, nullable=True),
        sa.Column("created_at", Utc, nullable=False),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("config_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_subscriptions_channel", "subscriptions", ["channel"])
    op.create_table(
        "subscription_runs",
        sa.Column("subscription_id", Id, nullable=False),
        sa.Column("fire_time", Utc, nullable=False),
        sa.Column("replica", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "fire_time"),
    )
    op.create_table(
        "versions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", Utc, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=False),
        sa.Column("rule_id", sa.String(length=255), nullable=True),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("kibana_status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_rule", "audit_log", ["rule_id", "at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "versions",
        "subscription_runs",
        "subscriptions",
        "cases",
        "alert_message_content",
        "alert_messages",
        "claim_keys",
    ):
        op.drop_table(table)  # its indexes go with it
