"""case_links.linked_by and .title: who linked a case to a thread, and the case's title then

Revision ID: b5e9d3f1a204
Revises: a8c3e5d7f912
Create Date: 2026-12-06 12:40:00.000000

App Home lists the cases a person opened or linked from Slack (attached an alert to, added a
message to): the link records who made it and the case's title at the time, so that the page
needs no Kibana call per case. Links made before this revision have neither (NULL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5e9d3f1a204"
down_revision: str | Sequence[str] | None = "a8c3e5d7f912"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_links") as batch:
        batch.add_column(sa.Column("linked_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("title", sa.String(length=255), nullable=True))
        batch.create_index("ix_case_links_linked_by", ["linked_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_links") as batch:
        batch.drop_index("ix_case_links_linked_by")
        batch.drop_column("title")
        batch.drop_column("linked_by")
