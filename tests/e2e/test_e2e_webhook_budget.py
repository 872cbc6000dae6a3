"""Issue 30, item 6: the webhook's budget per token. Deliveries beyond it are answered 429 with
Retry-After; Kibana's connector (devkit.fake_kibana.webhook_connector.run_action) retries those at
Retry-After, so every alert still reaches Slack."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import run_action
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from handlers.alerts import backlog
from handlers.alerts import webhook as alert_webhook

from .conftest import WEBHOOK_TOKEN, make_settings

ALERTS = 20
ATTEMPTS = 15  # a bounded number of runs of one action, as Kibana's task manager bounds them


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, alert_webhook_rate=5.0, alert_webhook_burst=5, slack_pacing=False)


def body(n: int, reason: str = "CPU is high") -> bytes:
    delivery: dict[str, Any] = {
        "rule_id": f"r{n}",
        "rule_name": f"Rule {n}",
        "space_id": "default",
        "alert_id": f"host-{n}",
        "alert_uuid": f"8f0c2a4e-1111-4c3b-9d1e-{n:012d}",
        "action_group": "threshold met",
        "reason": reason,
        "tags": "prod",
    }
    return json.dumps(delivery).encode()


async def post(client: httpx.AsyncClient, bot: RunningBot, content: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    return await client.post(f"{bot.url}/kibana/alerts", content=content, headers=headers)


async def as_kibana(
    client: httpx.AsyncClient, bot: RunningBot, content: bytes, seen: list[int], attempts: int = ATTEMPTS
) -> tuple[str, int]:
    """Run one webhook action as Kibana does: again at Retry-After while the connector says retry.
    What Kibana records in the end ("ok", or "error": given up), and how many runs it took."""
    result, runs = await run_action(
        client, f"{bot.url}/kibana/alerts", WEBHOOK_TOKEN, content, attempts=attempts, seen=seen
    )
    return result.status, runs


async def test_a_storm_from_one_token_is_paced_and_nothing_is_lost(bot: RunningBot, slack: FakeSlack) -> None:
    seen: list[int] = []
    async with httpx.AsyncClient(timeout=10.0) as client:
        results = await asyncio.gather(*(as_kibana(client, bot, body(n), seen) for n in range(ALERTS)))
        assert [status for status, _ in results] == ["ok"] * ALERTS
        # a refused delivery is booked: it gets in on its second run (Kibana runs an action only a few times)
        assert max(attempts for _, attempts in results) == 2
        for _ in range(50):  # spend the budget again (repeats of one alert): one more 429 to read
            refused = await post(client, bot, body(0))
            if refused.status_code == 429:
                break
    assert seen.count(429) >= ALERTS - 5  # only the burst went through at first
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # 0.2 s at 5 a second, in whole seconds
    assert "retry after" in refused.json()["message"]
    await slack.wait_for(lambda: len(slack.channel_messages("C0ALERTS")) >= ALERTS, timeout=30)
    shown = {m["text"] for m in slack.channel_messages("C0ALERTS")}
    assert all(any(f"Rule {n}" in text for text in shown) for n in range(ALERTS))


async def test_body_bytes_have_a_budget_too(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    settings = make_settings(
        kibana,
        slack,
        tmp_path,
        alert_webhook_rate=100.0,
        alert_webhook_burst=100,  # one second of burst: 256 KiB of bytes at the lowest byte rate
        alert_webhook_bytes_per_second=256 * 1024,
        slack_pacing=False,
    )
    big = "x" * (200 * 1024)  # a reason Kibana rendered far too long: kept clipped, but sent whole
    async with running_bot(settings, mode="http") as bot, httpx.AsyncClient(timeout=10.0) as client:
        first = await post(client, bot, body(1, big))
        second = await post(client, bot, body(2, big))
        small = await post(client, bot, body(3))  # queues behind the booked one
        await asyncio.sleep(float(second.headers["retry-after"]))
        second_again = await post(client, bot, body(2, big))
    assert first.status_code in (200, 202)
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert "bytes a second" in second.json()["message"]
    assert small.status_code == 429
    assert second_again.status_code in (200, 202)


async def test_a_retry_of_a_delivery_that_got_in_is_not_booked_behind_the_wave(
    bot: RunningBot, slack: FakeSlack
) -> None:
    """Kibana sends an action again when it got no answer in time (a replica behind on its records in a
    recovery wave): the delivery got in, its room was taken, so its retry is let in at once, not refused
    and booked behind every delivery waiting for its turn (which, past Kibana's few attempts, lost it)."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        answers = await asyncio.gather(*(post(client, bot, body(n)) for n in range(15)))
        got_in = [n for n, answer in enumerate(answers) if answer.status_code in (200, 202)]
        booked = [answer for answer in answers if answer.status_code == 429]
        retried = await post(client, bot, body(got_in[0]))  # say Kibana stopped waiting for its answer
        newcomer = await post(client, bot, body(99))
    assert len(got_in) == 5 and len(booked) == 10  # the burst, and the rest booked 0.2 s apart
    assert sorted(int(r.headers["retry-after"]) for r in booked)[-1] >= 2
    assert retried.status_code in (200, 202), retried.text  # not 429: counted once, shown once
    assert retried.json()["status"] in ("duplicate", "queued")
    assert newcomer.status_code == 429 and int(newcomer.headers["retry-after"]) >= 2  # behind the bookings
    await slack.wait_for(lambda: len(slack.channel_messages("C0ALERTS")) >= 5, timeout=30)
    shown = [m["text"] for m in slack.channel_messages("C0ALERTS")]
    assert sum(f"Rule {got_in[0]}" in text for text in shown) == 1


async def test_a_replica_behind_on_its_records_books_deliveries_instead_of_letting_them_wait(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: a replica that records fewer deliveries a second than Kibana sends (the survivor of two in a
    recovery wave) let every one in, and past RECORD_WITHIN answered 503: Kibana spent its few attempts in
    the queue and gave alerts up. Now a delivery that would wait more than MOST_WAIT for its record is
    answered 429, booked at the pace the replica records, and gets in when Kibana runs it again."""
    monkeypatch.setattr(backlog, "MOST_WAIT", 0.5)  # stands for 10 s
    monkeypatch.setattr(alert_webhook, "ANSWER_WITHIN", 1.0)  # stands for 8 s
    monkeypatch.setattr(alert_webhook, "RECORD_WITHIN", 2.0)  # stands for 40 s
    settings = make_settings(  # the token's budget far above the storm: only the backlog can refuse
        kibana, slack, tmp_path, alert_webhook_rate=1000.0, alert_webhook_burst=1000, slack_pacing=False
    )
    async with running_bot(settings, mode="http") as bot:
        await _behind(bot, slack, monkeypatch)


async def _behind(bot: RunningBot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    store = bot.runtime.services.store
    record_alerts, one_at_a_time = store.record_alerts, asyncio.Lock()

    async def slow_database(*args: Any, **kwargs: Any) -> Any:
        async with one_at_a_time:
            await asyncio.sleep(0.1)  # 10 records a second at most
        return await record_alerts(*args, **kwargs)

    monkeypatch.setattr(store, "record_alerts", slow_database)
    alerts = 40  # sent at 20 a second, twice what the replica records: let in, the last would wait 2 s more
    seen: list[int] = []

    async def later(n: int) -> tuple[str, int]:
        await asyncio.sleep(n * 0.05)
        return await as_kibana(client, bot, body(n), seen, attempts=4)  # Kibana runs an action a few times

    async with httpx.AsyncClient(timeout=10.0) as client:
        results = await asyncio.gather(*(later(n) for n in range(alerts)))
        behind = await post(client, bot, body(99))  # one more, while the last ones are booked
    assert [status for status, _ in results] == ["ok"] * alerts, seen
    assert seen.count(503) == 0  # no attempt spent waiting in the queue
    assert seen.count(429) >= 10 and max(attempts for _, attempts in results) == 2
    assert behind.status_code in (200, 202, 429)
    if behind.status_code == 429:
        assert "behind on recording alerts" in behind.json()["message"] and int(behind.headers["retry-after"]) >= 1
    await slack.wait_for(lambda: len(slack.channel_messages("C0ALERTS")) >= alerts, timeout=30)
    shown = [m["text"] for m in slack.channel_messages("C0ALERTS")]
    assert all(sum(bool(re.search(rf"Rule {n}\b", text)) for text in shown) == 1 for n in range(alerts))  # once
