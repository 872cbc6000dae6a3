"""What App Home and unfurls read from the store (SQLite and PostgreSQL): a person's mutes and cases from
the audit trail, the snoozes they made that are still running, the links of the cases the bot opened,
and an alert by Kibana's uuid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import AuditEntry, Delivered, Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def entry(action: str, target: str, user: str = "U1", *, minutes: int = 0, **changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {"at": T0 + timedelta(minutes=minutes), **changes}
    return AuditEntry(user, user.lower(), "T1", "C1", action, target, "ops", fields.pop("result", "ok"), **fields)


async def test_audit_of_actions_newest_first_ok_only_by_person(store: Store) -> None:
    await store.add_audit(entry("mute", "r1/h1", minutes=1))
    await store.add_audit(entry("unmute", "r1/h1", "U2", minutes=2))
    await store.add_audit(entry("mute", "r1/h2", minutes=3, result="error"))
    await store.add_audit(entry("disable", "r1", minutes=4))
    await store.add_audit(entry("case", "c-1", minutes=5, detail="Disk full"))
    every = await store.audit_of_actions(["mute", "unmute"])
    assert [(e.action, e.target, e.user_id) for e in every] == [("unmute", "r1/h1", "U2"), ("mute", "r1/h1", "U1")]
    mine = await store.audit_of_actions(["mute", "unmute", "case"], user_id="U1")
    assert [(e.action, e.target, e.detail) for e in mine] == [("case", "c-1", "Disk full"), ("mute", "r1/h1", "")]
    assert len(await store.audit_of_actions(["mute", "unmute"], limit=1)) == 1


async def test_snoozes_by_a_person_still_running(store: Store) -> None:
    now = datetime.now(UTC)
    await store.remember_snooze(
        space="ops", rule_id="r1", schedule_id="s1", ends_at=now + timedelta(hours=2), created_by="U1"
    )
    await store.remember_snooze(
        space="ops", rule_id="r2", schedule_id="s2", ends_at=now + timedelta(hours=1), created_by="U1"
    )
    await store.remember_snooze(
        space="ops", rule_id="r3", schedule_id="s3", ends_at=now - timedelta(hours=1), created_by="U1"
    )
    await store.remember_snooze(
        space="ops", rule_id="r4", schedule_id="s4", ends_at=now + timedelta(hours=1), created_by="U2"
    )
    running = await store.snoozes_by("U1", ending_after=now)
    assert [s.schedule_id for s in running] == ["s2", "s1"]  # ending first first


async def test_case_urls_of_the_cases_the_bot_opened(store: Store) -> None:
    await store.claim_case("k1", space="ops", channel="C1", message_ts=None)
    await store.set_case_id("k1", "c-1", case_url="https://kibana.example.com/s/ops/app/security/cases/c-1")
    await store.claim_case("k2", space="ops", channel="C1", message_ts=None)  # still being opened: no id
    assert await store.case_urls(["c-1", "c-9"]) == {"c-1": "https://kibana.example.com/s/ops/app/security/cases/c-1"}
    assert await store.case_urls([]) == {}


async def test_an_alert_by_its_uuid(store: Store) -> None:
    delivered = Delivered(
        space="ops",
        rule_id="r-1",
        alert_id="host-1",
        alert_uuid="u-1",
        rule_name="CPU high",
        tags=("prod",),
        action_group="threshold met",
        reason="CPU 97%",
        date=T0,
        recovered=False,
    )
    await store.record_alert(delivered, channel="C1")
    found = await store.alert_with_uuid("u-1")
    assert found is not None and (found.space, found.rule_id, found.alert_id) == ("ops", "r-1", "host-1")
    assert await store.alert_with_uuid("u-unknown") is None
