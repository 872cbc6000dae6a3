"""Writes kept for later (bot/store/later.py): while PostgreSQL does not answer, audit entries and
snooze records wait in memory, bounded, and are written in order once it answers again.

The store reaches PostgreSQL through a TCP proxy on 127.0.0.1 that the test cuts and restores."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from bot.store import AuditEntry, Store
from bot.store import later as store_later
from bot.store.errors import StoreUnavailable
from devkit.tcp_cut import CuttableProxy
from tests.databases import TEST_DATABASE_URL, postgres_schema

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

ENDS = datetime(2030, 1, 1, tzinfo=UTC)


async def remember(store: Store, schedule_id: str) -> bool:
    return await store.remember_snooze(
        space="default", rule_id="r1", schedule_id=schedule_id, ends_at=ENDS, created_by="U1"
    )


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    url = make_url(TEST_DATABASE_URL)
    async with CuttableProxy(url.host or "127.0.0.1", url.port or 5432) as cuttable:
        yield cuttable


@pytest.fixture
async def store(proxy: CuttableProxy, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Store]:
    monkeypatch.setattr(store_later, "RETRY_SECONDS", 3600.0)  # the tests write what waits themselves
    async with postgres_schema("outage") as direct:
        proxied = make_url(direct).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        opened = await Store.open(proxied)
        yield opened
        await proxy.restore()
        await opened.close()


def entry(action: str) -> AuditEntry:
    return AuditEntry(
        user_id="U1",
        user_name="ada",
        team="T1",
        channel="C1",
        action=action,
        target="r1",
        space="default",
        result="ok",
        rule_id="r1",
    )


async def test_what_the_database_did_not_take_is_written_in_order_once_it_answers(
    store: Store, proxy: CuttableProxy
) -> None:
    await proxy.cut()
    await store.add_audit(entry("snooze"))  # returns: the entry is kept
    assert not await remember(store, "a")
    assert store.snooze_unrecorded(space="default", rule_id="r1", schedule_id="a")
    await store.forget_snooze(space="default", rule_id="r1", schedule_id="a")  # cancelled meanwhile
    assert not await remember(store, "b")
    assert store.waiting_writes == 4
    with pytest.raises(Exception):  # noqa: B017 - still away: what waits keeps waiting
        await store.write_what_waits()
    assert store.waiting_writes == 4

    await proxy.restore()
    assert await store.write_what_waits() == 4
    assert store.waiting_writes == 0
    assert [s.schedule_id for s in await store.known_snoozes(space="default", rule_id="r1")] == ["b"]
    assert not store.snooze_unrecorded(space="default", rule_id="r1", schedule_id="b")
    assert [e.action for e in await store.list_audit()] == ["snooze"]


async def test_the_next_audit_entry_writes_what_waits_first(store: Store, proxy: CuttableProxy) -> None:
    await proxy.cut()
    await store.add_audit(entry("mute"))
    await proxy.restore()
    await store.add_audit(entry("unmute"))
    assert store.waiting_writes == 0
    assert sorted(e.action for e in await store.list_audit()) == ["mute", "unmute"]


async def test_a_full_queue_refuses_and_says_so(
    store: Store, proxy: CuttableProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_later, "WAITING_LIMIT", 2)
    await proxy.cut()
    await store.add_audit(entry("mute"))
    assert store.may_keep()
    await store.add_audit(entry("mute"))
    assert not store.may_keep()  # a new write could not be recorded: the write path refuses it first
    with pytest.raises(StoreUnavailable):
        await store.add_audit(entry("mute"))


async def test_closing_while_the_database_is_away_logs_what_is_lost(
    store: Store, proxy: CuttableProxy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_later, "CLOSING_SECONDS", 1.0)
    await proxy.cut()
    await store.add_audit(entry("mute"))
    await remember(store, "a")
    caplog.set_level(logging.ERROR, logger="bot.store.later")
    await store.close()
    [lost] = [r.getMessage() for r in caplog.records if r.name == "bot.store.later"]
    assert "1 audit entry(s)" in lost and "1 snooze schedule record(s)" in lost
