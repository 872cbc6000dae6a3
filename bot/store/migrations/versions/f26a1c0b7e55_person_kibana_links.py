"""kibana_links: each person's own Kibana API key, encrypted; audit_log.kibana_identity (issue 26)

Revision ID: f26a1c0b7e55
Revises: 5b0d9e7f3a21
Create Date: 2026-12-06 08:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f26a1c0b7e55"
down_revision: str | Sequence[str] | None = "5b0d9e7f3a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kibana_links",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("deployment", sa.String(length=64), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("kibana_user", sa.String(length=255), nullable=True),
        sa.Column("stale", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", Utc, nullable=False),
        sa.Column("updated_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", "deployment"),
    )
    # Whose Kibana credential a write used: the person's Kibana user (or key), None for the bot's.
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("kibana_identity", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("kibana_identity")
    op.drop_table("kibana_links")
