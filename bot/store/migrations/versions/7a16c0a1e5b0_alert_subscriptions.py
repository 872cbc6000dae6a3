"""alert subscriptions read from alerts-as-data, and the per-space polling state

Revision ID: 7a16c0a1e5b0
Revises: 3f1c2d9a7b10
Create Date: 2026-12-02 01:00:00.000000

Channels subscribe to the alerts of a space (one rule, one tag, or all) that the bot reads from
Kibana's alerts-as-data in Elasticsearch; per space the bot keeps its polling cursor and the
Elasticsearch problem the channels were last told about.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a16c0a1e5b0"
down_revision: str | Sequence[str] | None = "3f1c2d9a7b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("config_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("config_key"),
        sa.UniqueConstraint("channel", "space", "kind", "value", name="uq_alert_subscriptions_filter"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_subscriptions_space", "alert_subscriptions", ["space"])
    op.create_table(
        "alert_poll_spaces",
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("cursor_ms", sa.BigInteger(), nullable=True),
        sa.Column("cursor_uuid", sa.String(length=255), nullable=True),
        sa.Column("problem", sa.String(length=32), nullable=True),
        sa.Column("problem_text", sa.Text(), nullable=True),
        sa.Column("problem_since", Utc, nullable=True),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("space"),
    )


def downgrade() -> None:
    op.drop_table("alert_poll_spaces")
    op.drop_index("ix_alert_subscriptions_space", table_name="alert_subscriptions")
    op.drop_table("alert_subscriptions")
