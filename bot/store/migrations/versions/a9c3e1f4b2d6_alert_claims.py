"""alert_claims: who is on an alert episode ("I'm on it", issue 27)

Revision ID: a9c3e1f4b2d6
Revises: f26a1c0b7e55
Create Date: 2026-12-06 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9c3e1f4b2d6"
down_revision: str | Sequence[str] | None = "f26a1c0b7e55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_claims",
        sa.Column("group_id", Id, autoincrement=False, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", Utc, nullable=False),
        sa.Column("taken_from", sa.String(length=64), nullable=True),
        sa.Column("kibana_ack", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("group_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_claims")
