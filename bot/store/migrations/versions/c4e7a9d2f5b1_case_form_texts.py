"""case_form_texts: the whole text of a message whose case form shows only its beginning

Revision ID: c4e7a9d2f5b1
Revises: 9e15a1e7c0de
Create Date: 2026-12-06 07:00:00.000000

A form field takes at most 3,000 characters and a message may have 40,000 (issue 25): the form
shows the beginning, and the whole text, kept here under the form's view id, is added to the case
as a comment when the form is submitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e7a9d2f5b1"
down_revision: str | Sequence[str] | None = "9e15a1e7c0de"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schema.UtcDateTime stores this; the conversion to and from UTC happens in Python.
Utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_form_texts",
        sa.Column("view_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kept_at", Utc, nullable=False),
        sa.PrimaryKeyConstraint("view_id"),
    )
    op.create_index("ix_case_form_texts_kept_at", "case_form_texts", ["kept_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_case_form_texts_kept_at", table_name="case_form_texts")
    op.drop_table("case_form_texts")
