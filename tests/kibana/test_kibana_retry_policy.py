"""The retry policy enters stamina only after a first failure that may be retried, and then
retries exactly as stamina did when it ran every call: the first failure is its first attempt,
so the backoff before the second attempt, the number of attempts and Retry-After are unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import stamina.instrumentation

from bot.kibana import CaseCreate, KibanaError
from bot.kibana.retry import RetryPolicy

from .conftest import RULE_BODY, ScriptedKibana, fast_client, quick_retry


@pytest.fixture
def retries() -> Iterator[list[stamina.instrumentation.RetryDetails]]:
    """What stamina scheduled: one entry per retry, with the wait it chose."""
    seen: list[stamina.instrumentation.RetryDetails] = []
    before = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([seen.append])
    yield seen
    stamina.instrumentation.set_on_retry_hooks(before)


async def test_a_call_that_succeeds_at_once_never_enters_stamina(
    retries: list[stamina.instrumentation.RetryDetails], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stamina(*_: object, **__: object) -> None:
        raise AssertionError("stamina's retry context was set up for a call that needed none")

    monkeypatch.setattr(RetryPolicy, "attempts_for", no_stamina)
    script = ScriptedKibana(httpx.Response(200, json=RULE_BODY))
    async with fast_client(script.transport) as client:
        rule = await client.get_rule("rule-1")

    assert rule.id == "rule-1"
    assert len(script.requests) == 1
    assert retries == []


async def test_a_first_failure_gets_stamina_backoff_before_the_second_attempt(
    retries: list[stamina.instrumentation.RetryDetails],
) -> None:
    script = ScriptedKibana(httpx.Response(503), httpx.Response(503), httpx.Response(200, json=RULE_BODY))
    client = fast_client(script.transport, retry=RetryPolicy(wait_initial=0.02, wait_max=1.0, wait_jitter=0.0))
    async with client:
        rule = await client.get_rule("rule-1")

    assert rule.id == "rule-1"
    assert len(script.requests) == 3
    # Two retries, waiting as stamina's exponential backoff says from the first failure on.
    assert [r.retry_num for r in retries] == [1, 2]
    assert [r.wait_for for r in retries] == pytest.approx([0.02, 0.04])


async def test_the_attempts_are_counted_from_the_first_failure() -> None:
    script = ScriptedKibana(httpx.ConnectError("refused"))
    async with fast_client(script.transport, retry=quick_retry(attempts=3)) as client:
        with pytest.raises(KibanaError) as caught:
            await client.get_rule("rule-1")

    assert len(script.requests) == 3
    assert caught.value.error == "ConnectError"


async def test_a_failure_that_may_not_be_retried_is_raised_without_stamina(
    retries: list[stamina.instrumentation.RetryDetails],
) -> None:
    script = ScriptedKibana(httpx.ReadTimeout("slow"))
    async with fast_client(script.transport) as client:
        with pytest.raises(KibanaError) as caught:
            await client.create_case(CaseCreate(title="t", description="d"))

    assert len(script.requests) == 1  # a case is never created twice
    assert caught.value.error == "ReadTimeout"
    assert retries == []


async def test_retry_after_is_the_wait_of_the_first_retry(
    retries: list[stamina.instrumentation.RetryDetails],
) -> None:
    script = ScriptedKibana(httpx.Response(429, headers={"Retry-After": "0.05"}), httpx.Response(204))
    async with fast_client(script.transport) as client:
        await client.mute_alert("rule-1", "host-a")

    assert len(script.requests) == 2
    assert [r.wait_for for r in retries] == pytest.approx([0.05])


async def test_the_deadline_counts_the_first_attempt() -> None:
    policy = RetryPolicy(attempts=10, timeout=0.3, wait_initial=0.05, wait_max=0.05, wait_jitter=0.0)
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.25)  # the first attempt spends most of the 0.3 s
        raise _unavailable()

    with pytest.raises(KibanaError):
        await policy.run(failing, idempotent=True)

    # 0.05 s were left after the first attempt: room for one more, where a deadline that started
    # after it would have allowed about six.
    assert 2 <= calls <= 3


def _unavailable() -> KibanaError:
    from bot.kibana.errors import KibanaUnavailable

    error = KibanaUnavailable("Kibana is unavailable", error="ConnectError", method="GET", path="/", space=None)
    error.request_sent = False
    return error
