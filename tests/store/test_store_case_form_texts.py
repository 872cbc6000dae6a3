"""The whole text of a message whose case form shows only its beginning, kept under the form's view id."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.store import Store
from bot.store.case_form_texts import KEPT_FOR
from bot.store.schema import case_form_texts, utcnow


async def test_a_text_is_kept_per_form_until_forgotten(store: Store) -> None:
    long = "x" * 40_000 + "\x00end"
    await store.keep_case_form_text("V001", long)
    await store.keep_case_form_text("V002", "other")
    assert await store.case_form_text("V001") == "x" * 40_000 + "\ufffdend"  # PostgreSQL text holds no NUL
    await store.keep_case_form_text("V002", "replaced")
    assert await store.case_form_text("V002") == "replaced"
    await store.forget_case_form_text("V001")
    assert await store.case_form_text("V001") is None
    assert await store.case_form_text("V404") is None


async def test_texts_of_forms_open_longer_than_kept_are_forgotten(store: Store) -> None:
    await store.keep_case_form_text("VOLD", "old")
    async with store._write() as conn:
        await conn.execute(update(case_form_texts).values(kept_at=utcnow() - KEPT_FOR - timedelta(minutes=1)))
    await store.keep_case_form_text("VNEW", "new")
    assert (await store.case_form_text("VOLD"), await store.case_form_text("VNEW")) == (None, "new")
