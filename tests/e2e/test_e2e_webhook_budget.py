"""Issue 30, item 6: the webhook's budget per token. Deliveries beyond it are answered 429 with
Retry-After; Kibana's connector (devkit.fake_kibana.webhook_connector.judge) retries those at
Retry-After, so every alert still reaches Slack."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import judge
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot

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


async def as_kibana(client: httpx.AsyncClient, bot: RunningBot, content: bytes, seen: list[int]) -> tuple[str, int]:
    """Run one webhook action as Kibana does: again at Retry-After while the connector says retry.
    What Kibana records in the end, and how many runs it took."""
    for attempt in range(1, ATTEMPTS + 1):
        answer = await post(client, bot, content)
        seen.append(answer.status_code)
        result = judge(answer)
        if not result.retry:
            return result.status, attempt
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    return "gave up", ATTEMPTS


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
