"""The whole text of a message whose case form shows only its beginning (a form field takes at
most 3,000 characters), kept under the form's view id until the form is submitted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from bot.store.database import Database
from bot.store.schema import case_form_texts, utcnow

# A form still open after this long has its text forgotten (its submission then says so).
KEPT_FOR = timedelta(days=1)


class CaseFormTextsMixin(Database):
    async def keep_case_form_text(self, view_id: str, text: str) -> None:
        """Keep `text` for the form `view_id` (replacing what it had), and forget the texts of forms
        opened more than KEPT_FOR ago. NUL, which PostgreSQL text cannot hold, becomes U+FFFD."""
        now = utcnow()
        row = {"view_id": view_id, "text": text.replace("\x00", "\ufffd"), "kept_at": now}
        async with self._write() as conn:
            await conn.execute(delete(case_form_texts).where(case_form_texts.c.kept_at < now - KEPT_FOR))
            await conn.execute(delete(case_form_texts).where(case_form_texts.c.view_id == view_id))
            await conn.execute(self._insert(case_form_texts).values(**row))

    async def case_form_text(self, view_id: str) -> str | None:
        async with self._read() as conn:
            text = (
                await conn.execute(select(case_form_texts.c.text).where(case_form_texts.c.view_id == view_id))
            ).scalar_one_or_none()
        return text

    async def forget_case_form_text(self, view_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(case_form_texts).where(case_form_texts.c.view_id == view_id))
