"""alert groups: one message per rule, space and channel while its alerts fire

Revision ID: 9e15a1e7c0de
Revises: 7a16c0a1e5b0
Create Date: 2026-12-02 01:20:00.000000

A storm of alerts from one rule becomes one message, updated in place (issue 15): each alert
row now names its group and keeps what it shows; a group row is the rule's episode in a channel,
with the version Slack shows, the debounce and the lease of the replica publishing it. Rows of
the previous release keep `group_id` NULL and are read as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e15a1e7c0de"
down_revision: str | Sequence[str] | None = "7a16c0a1e5b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = sa.DateTime(timezone=True)
OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("alert_messages") as batch:
        batch.add_column(sa.Column("group_id", Id, nullable=True))
        batch.add_column(sa.Column("action_group", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("started_at", Utc, nullable=True))
        batch.add_column(sa.Column("recovery_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("changed_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recovered_seq", sa.Integer(), nullable=True))
        batch.create_index("ix_alert_messages_group", ["group_id", "id"])
        # an alert may be shown in each channel whose subscription matches it: the channel joins the key
        batch.drop_constraint("uq_alert_messages_alert", type_="unique")
        batch.create_unique_constraint(
            "uq_alert_messages_alert_channel", ["space", "rule_id", "alert_id", "alert_uuid", "channel"]
        )
        batch.create_index("ix_alert_messages_alert", ["space", "rule_id", "alert_id", "alert_uuid"])
    op.create_table(
        "alert_groups",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("rule_name", sa.String(length=1000), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("rule_muted_all", sa.Boolean(), nullable=False),
        sa.Column("rule_enabled", sa.Boolean(), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.Column("message_channel", sa.String(length=64), nullable=True),
        sa.Column("started_at", Utc, nullable=False),
        sa.Column("closed_at", Utc, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("logged_version", sa.Integer(), nullable=False),
        sa.Column("due_at", Utc, nullable=False),
        sa.Column("shown_at", Utc, nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", Utc, nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_alert_groups_open",
        "alert_groups",
        ["space", "rule_id", "channel"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_alert_groups_message", "alert_groups", ["message_channel", "ts"])
    op.create_index("ix_alert_groups_due", "alert_groups", ["due_at"])


def downgrade() -> None:
    op.drop_table("alert_groups")
    with op.batch_alter_table("alert_messages") as batch:
        batch.drop_index("ix_alert_messages_alert")
        batch.drop_constraint("uq_alert_messages_alert_channel", type_="unique")
        batch.create_unique_constraint("uq_alert_messages_alert", ["space", "rule_id", "alert_id", "alert_uuid"])
        batch.drop_index("ix_alert_messages_group")
        for column in (
            "recovered_seq",
            "changed_seq",
            "seq",
            "muted",
            "recovery_reason",
            "started_at",
            "reason",
            "action_group",
        ):
            batch.drop_column(column)
        batch.drop_column("group_id")
