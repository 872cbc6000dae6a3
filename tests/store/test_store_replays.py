"""Slack request signatures: each is new once, however many requests carrying it arrive together."""

from __future__ import annotations

import asyncio

from bot.store import Store

from .conftest import OpenStore


def signature(n: int) -> str:
    return f"v0={n:064x}"


async def test_a_burst_is_recorded_in_a_few_transactions_and_each_signature_is_new_once(store: Store) -> None:
    transactions: list[int] = []
    record = store._record_signatures

    async def counted(signatures: list[str]) -> list[bool]:
        transactions.append(len(signatures))
        return await record(signatures)

    store._record_signatures = counted  # type: ignore[method-assign]
    # every signature twice, in one burst: a request and its replay arriving together
    burst = [signature(n) for n in range(150)] * 2
    seen = await asyncio.gather(*(store.seen_slack_request(s) for s in burst))

    assert sum(transactions) == 300 and len(transactions) < 10
    assert seen[:150] == [False] * 150  # the first of each pair is the request
    assert seen[150:] == [True] * 150  # the second, its replay
    assert all(await asyncio.gather(*(store.seen_slack_request(signature(n)) for n in range(150))))


async def test_the_same_signature_twice_in_one_batch_is_new_once(store: Store) -> None:
    seen = await asyncio.gather(*(store.seen_slack_request(signature(7)) for _ in range(5)))

    assert sorted(seen) == [False, True, True, True, True]


async def test_two_replicas_agree_that_a_signature_is_new_once(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    signatures = [signature(n) for n in range(60)]

    seen = await asyncio.gather(*(store.seen_slack_request(s) for s in signatures for store in (first, second)))

    by_signature = [seen[2 * n : 2 * n + 2] for n in range(60)]
    assert all(sorted(pair) == [False, True] for pair in by_signature)
