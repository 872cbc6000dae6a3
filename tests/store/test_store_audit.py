"""The audit trail: newest first, by rule, bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import AuditEntry, Store

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


def _entry(**changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "user_id": "U1",
        "user_name": "ada",
        "team": "T1",
        "channel": "C1",
        "action": "mute",
        "target": "r-1/host-a",
        "rule_id": "r-1",
        "space": "ops",
        "result": "ok",
        "kibana_status": 204,
        "detail": "",
        "at": T0,
    }
    return AuditEntry(**(fields | changes))


async def test_entries_round_trip_newest_first(store: Store) -> None:
    await store.add_audit(_entry(at=T0))
    await store.add_audit(
        _entry(
            at=T0 + timedelta(minutes=5),
            action="disable",
            target="r-1",
            result="error",
            kibana_status=403,
            detail="Unauthorized to disable",
        )
    )
    await store.add_audit(_entry(at=T0 + timedelta(minutes=1), action="case", result="refused", channel=None))

    entries = await store.list_audit()
    assert [e.action for e in entries] == ["disable", "case", "mute"]
    newest = entries[0]
    assert newest.id is not None
    assert newest.at == T0 + timedelta(minutes=5) and newest.at.tzinfo is UTC
    assert (newest.result, newest.kibana_status, newest.detail) == ("error", 403, "Unauthorized to disable")
    assert entries[1].channel is None and entries[1].result == "refused"
    assert entries[2] == _entry(id=entries[2].id)


async def test_list_only_some_spaces(store: Store) -> None:
    """`audit` shows a reader only the entries of the spaces where the access policy makes them operator."""
    for minute, space in enumerate(["ops", "default", "web", "ops"]):
        await store.add_audit(_entry(at=T0 + timedelta(minutes=minute), space=space, target=f"t{minute}"))
    assert [e.target for e in await store.list_audit(spaces=frozenset({"ops"}))] == ["t3", "t0"]
    assert [e.target for e in await store.list_audit(spaces=frozenset({"ops", "web"}), limit=2)] == ["t3", "t2"]
    assert await store.list_audit(spaces=frozenset()) == []
    assert len(await store.list_audit(spaces=None)) == 4  # every space


async def test_list_by_rule_and_limit(store: Store) -> None:
    for minute in range(5):
        await store.add_audit(_entry(at=T0 + timedelta(minutes=minute), rule_id="r-1", target=f"r-1/{minute}"))
    await store.add_audit(_entry(at=T0 + timedelta(hours=1), rule_id="r-2", target="r-2"))
    await store.add_audit(_entry(at=T0 + timedelta(hours=2), rule_id=None, action="apm key", target="svc"))

    assert [e.target for e in await store.list_audit(limit=2)] == ["svc", "r-2"]
    assert [e.target for e in await store.list_audit(rule_id="r-1", limit=3)] == ["r-1/4", "r-1/3", "r-1/2"]
    assert await store.list_audit(rule_id="unknown") == []


async def test_entry_time_defaults_to_now_in_utc(store: Store) -> None:
    before = datetime.now(UTC)
    entry = AuditEntry(
        user_id="U1",
        user_name="ada",
        team="T1",
        channel="C1",
        action="enable",
        target="r-9",
        space="default",
        result="ok",
    )
    await store.add_audit(entry)
    (stored,) = await store.list_audit()
    assert stored.at >= before.replace(microsecond=0) and stored.at.tzinfo is UTC
    assert stored.kibana_status is None and stored.rule_id is None


async def test_a_burst_of_entries_is_written_in_a_few_transactions(store: Store) -> None:
    transactions: list[int] = []
    insert = store._insert_audit

    async def counted(rows: list[dict[str, Any]]) -> list[None]:
        transactions.append(len(rows))
        return await insert(rows)

    store._insert_audit = counted  # type: ignore[method-assign]
    await asyncio.gather(
        *(store.add_audit(_entry(target=f"r-1/host-{n}", at=T0 + timedelta(seconds=n))) for n in range(200))
    )

    assert sum(transactions) == 200 and len(transactions) < 20
    entries = await store.list_audit(limit=500)
    assert sorted(e.target for e in entries) == sorted(f"r-1/host-{n}" for n in range(200))


async def test_an_entry_that_cannot_be_written_fails_alone(store: Store) -> None:
    broken = _entry(user_id=None, target="broken")  # user_id is NOT NULL

    outcomes = await asyncio.gather(
        store.add_audit(_entry(target="first")),
        store.add_audit(broken),
        store.add_audit(_entry(target="last")),
        return_exceptions=True,
    )

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    assert sorted(e.target for e in await store.list_audit()) == ["first", "last"]


async def test_a_cancelled_caller_still_gets_its_entry_written(store: Store) -> None:
    writing = asyncio.create_task(store.add_audit(_entry(target="kept")))
    await asyncio.sleep(0)
    writing.cancel()
    for _ in range(200):  # bounded: until the writer has committed it
        if await store.list_audit():
            break
        await asyncio.sleep(0.01)

    assert [e.target for e in await store.list_audit()] == ["kept"]
