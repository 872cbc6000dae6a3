"""case_links and case_echoes: cases linked to Slack threads, and what the bot did to them

Revision ID: a8c3e5d7f912
Revises: a4d8e2c6f913
Create Date: 2026-12-06 12:00:00.000000

Issue 28: a case opened or linked from Slack has a card in its thread; its Kibana activity is
brought into the thread (`seen` user actions, read by one replica at a time under a lease), and
the thread's replies may become case comments (`syncing`). What the bot did itself is kept in
`case_echoes` until its user action is read, so that it is not told back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a8c3e5d7f912"
down_revision: str | Sequence[str] | None = "a4d8e2c6f913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_links",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("card_ts", sa.String(length=32), nullable=True),
        sa.Column("syncing", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("seen", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("linked_at", Utc, nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", Utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "thread_ts", "case_id", name="uq_case_links_thread_case"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_case_links_case", "case_links", ["space", "case_id"], unique=False)
    op.create_index("ix_case_links_linked_at", "case_links", ["linked_at"], unique=False)
    op.create_table(
        "case_echoes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("noted_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_case_echoes_case", "case_echoes", ["case_id", "field", "value"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_case_echoes_case", table_name="case_echoes")
    op.drop_table("case_echoes")
    op.drop_index("ix_case_links_linked_at", table_name="case_links")
    op.drop_index("ix_case_links_case", table_name="case_links")
    op.drop_table("case_links")
