"""Cases opened from Slack: one case per de-duplication key."""

from __future__ import annotations

import asyncio

from bot.store import Store


async def test_first_claim_is_first_and_later_claims_see_it(store: Store) -> None:
    claim = await store.claim_case("msg:C1:1.1", space="ops", channel="C1", message_ts="1.1")
    assert claim.first is True
    assert claim.record.case_id is None and claim.record.space == "ops"

    again = await store.claim_case("msg:C1:1.1", space="ops", channel="C1", message_ts="1.1")
    assert again.first is False
    assert again.record.case_id is None
    assert again.record.claimed_at == claim.record.claimed_at


async def test_case_id_is_recorded_for_later_claims(store: Store) -> None:
    await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")
    await store.set_case_id("k", "case-123", case_url="https://kibana/app/cases/case-123")

    again = await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")
    assert again.first is False
    assert again.record.case_id == "case-123"
    assert again.record.case_url == "https://kibana/app/cases/case-123"
    found = await store.get_case("k")
    assert found == again.record


async def test_case_for_message(store: Store) -> None:
    assert await store.case_for_message("C1", "1.1") is None
    await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")
    pending = await store.case_for_message("C1", "1.1")
    assert pending is not None and pending.case_id is None

    await store.set_case_id("k", "case-1")
    found = await store.case_for_message("C1", "1.1")
    assert found is not None and found.case_id == "case-1" and found.dedupe_key == "k"
    assert await store.case_for_message("C1", "2.2") is None
    assert await store.case_for_message("C2", "1.1") is None


async def test_case_for_message_prefers_the_one_that_was_created(store: Store) -> None:
    await store.claim_case("a", space="ops", channel="C1", message_ts="1.1")
    await store.set_case_id("a", "case-a")
    await store.claim_case("b", space="ops", channel="C1", message_ts="1.1")
    found = await store.case_for_message("C1", "1.1")
    assert found is not None and found.case_id == "case-a"


async def test_cases_from_commands_have_no_message(store: Store) -> None:
    claim = await store.claim_case("cmd:U1:abc", space="default", channel=None, message_ts=None)
    assert claim.first and claim.record.channel is None and claim.record.message_ts is None


async def test_released_claim_can_be_claimed_again(store: Store) -> None:
    await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")
    assert await store.release_case_claim("k") is True
    assert await store.get_case("k") is None
    assert (await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")).first is True


async def test_a_created_case_is_never_released(store: Store) -> None:
    await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")
    await store.set_case_id("k", "case-1")
    assert await store.release_case_claim("k") is False
    assert (await store.claim_case("k", space="ops", channel="C1", message_ts="1.1")).first is False


async def test_twenty_replicas_claim_one_case_and_exactly_one_creates_it(replicas: list[Store]) -> None:
    claims = await asyncio.gather(
        *(r.claim_case("double-click", space="ops", channel="C1", message_ts="1.1") for r in replicas)
    )
    assert [c.first for c in claims].count(True) == 1
    assert {c.record.dedupe_key for c in claims} == {"double-click"}
