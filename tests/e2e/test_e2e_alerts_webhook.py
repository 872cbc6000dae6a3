"""`POST /kibana/alerts` over real HTTP: one alert, one message, exactly once; recoveries in place."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.metrics import REGISTRY
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import ActionResult, run_action
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from handlers.alerting.target import Target
from handlers.alerts import webhook as alert_webhook

from .conftest import WEBHOOK_TOKEN, make_settings

# What Kibana's Webhook connector sends for the body in docs/alerts.md (mustache already rendered).
BODY: dict[str, Any] = {
    "rule_id": "r1",
    "rule_name": "CPU high",
    "space_id": "default",
    "alert_id": "host-1",
    "alert_uuid": "8f0c2a4e-1111-4c3b-9d1e-000000000001",
    "action_group": "threshold met",
    "reason": 'CPU on "host-1" is 97%\nabove the 90% threshold',
    "rule_url": "https://kibana.example.com/app/observability/alerts/rules/r1",
    "tags": "prod,db",
    "date": "2025-03-04T10:42:07.123Z",
    "channel": "",
}

# What a new alert offers: Kibana notifies only for an alert that is not muted, of an enabled rule
# whose alerts are not all muted, so Unmute alert, Unmute all and Enable do not apply yet.
EVERY_BUTTON = {
    "alert_claim",  # I'm on it (handlers/alerts/claim.py)
    "alert_mute",
    "alert_mute_for",  # Mute for… (1 h, 4 h, until 09:00 tomorrow)
    "rule_mute_all",
    "rule_disable",
    "rule_snooze",
    "case_open",
    "case_attach",
    "rule_link",
}


async def deliver(
    bot: RunningBot,
    body: dict[str, Any] | bytes,
    *,
    token: str | None = WEBHOOK_TOKEN,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a delivery as Kibana's connector does."""
    sent = {"Content-Type": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.post(f"{bot.url}/kibana/alerts", content=content, headers=sent)


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]


def action_ids(message: dict[str, Any]) -> set[str]:
    return {e["action_id"] for e in elements(message)}


def element(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(e for e in elements(message) if e["action_id"] == action_id)


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


KIBANA_RUNS = 5  # how many times these tests let Kibana run one action (its task manager bounds them)


async def kibana_sends(bot: RunningBot, bodies: list[dict[str, Any]]) -> list[tuple[ActionResult, list[int]]]:
    """Kibana's webhook actions for these alerts, all at once, each run again as Kibana runs it (at
    Retry-After when a replica behind on its records books it): what Kibana recorded for each, and the
    statuses its runs were answered."""

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[ActionResult, list[int]]:
        seen: list[int] = []
        content = json.dumps(body).encode()
        result, _ = await run_action(
            client, f"{bot.url}/kibana/alerts", WEBHOOK_TOKEN, content, attempts=KIBANA_RUNS, seen=seen
        )
        return result, seen

    async with httpx.AsyncClient(timeout=60.0) as client:
        return list(await asyncio.gather(*(one(client, body) for body in bodies)))


def accepted(sent: list[tuple[ActionResult, list[int]]]) -> bool:
    """Kibana recorded every action ok, and no run was refused but to be booked (429)."""
    return all(result.status == "ok" and set(seen) <= {200, 202, 429} for result, seen in sent)


def deliveries(outcome: str) -> float:
    return REGISTRY.get_sample_value("chatops_alert_webhooks_total", {"outcome": outcome}) or 0.0


def top_level(slack: FakeSlack, channel: str = "C0ALERTS") -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages(channel) if m.get("thread_ts") in (None, m["ts"])]


# ---- a delivery becomes one message ------------------------------------------------------


async def test_an_alert_becomes_one_message_with_every_button(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana
) -> None:
    posted_before = deliveries("posted")
    response = await deliver(bot, BODY)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "posted"

    [message] = slack.channel_messages("C0ALERTS")
    assert response.json()["ts"] == message["ts"]
    assert action_ids(message) == EVERY_BUTTON
    for block in message["blocks"]:
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
    text = all_text(message)
    for shown in ("CPU high", "threshold met", "host-1", "`default`", "2025-03-04 10:42 UTC", "`prod`", "`db`"):
        assert shown in text
    assert 'CPU on \\"host-1\\" is 97%\\nabove the 90% threshold' in text
    assert "[threshold met] CPU high" in message["text"]
    # Built from KIBANA_PUBLIC_URL and the ids, never the body's rule_url.
    assert element(message, "rule_link")["url"] == (
        "https://kibana.example.com/app/management/insightsAndAlerting/triggersActions/rule/r1"
    )
    assert element(message, "rule_mute_all")["confirm"]["title"]["text"] == "Mute all alerts?"
    case = Target.unpack(element(message, "case_open")["value"])
    assert (case.rule_id, case.space, case.alert_id, case.alert_uuid) == ("r1", "default", "host-1", BODY["alert_uuid"])
    mute = Target.unpack(element(message, "alert_mute")["value"])
    assert (mute.rule_id, mute.alert_id) == ("r1", "host-1")
    snooze_values = [Target.unpack(o["value"]).option for o in element(message, "rule_snooze")["options"]]
    assert snooze_values == ["1h", "4h", "1d", "custom"]
    assert kibana.requests == []  # posting an alert needs nothing from Kibana
    assert deliveries("posted") == posted_before + 1


async def test_without_rule_url_the_link_is_built_from_the_public_url(bot: RunningBot, slack: FakeSlack) -> None:
    body = {**BODY, "rule_url": "", "space_id": "ops", "tags": ["a", "b"]}
    assert (await deliver(bot, body)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert element(message, "rule_link")["url"] == (
        "https://kibana.example.com/s/ops/app/management/insightsAndAlerting/triggersActions/rule/r1"
    )
    assert Target.unpack(element(message, "alert_mute")["value"]).space == "ops"
    assert "`a`" in all_text(message) and "`b`" in all_text(message)


async def test_an_empty_space_is_the_default_space_and_a_named_channel_works(bot: RunningBot, slack: FakeSlack) -> None:
    slack.add_channel("C0OPS", "ops-alerts")
    response = await deliver(bot, {**BODY, "space_id": "", "channel": "#ops-alerts"})
    assert response.status_code == 200
    assert response.json()["channel"] == "C0OPS"
    [message] = slack.channel_messages("C0OPS")
    assert Target.unpack(element(message, "alert_mute")["value"]).space == "default"
    assert slack.channel_messages("C0ALERTS") == []


async def test_a_raw_newline_in_the_reason_is_accepted(bot: RunningBot, slack: FakeSlack) -> None:
    raw = json.dumps({**BODY, "reason": "line one LINEBREAK line two"}).replace("LINEBREAK", "\n").encode()
    assert b"\n" in raw
    response = await deliver(bot, raw)
    assert response.status_code == 200, response.text
    [message] = slack.channel_messages("C0ALERTS")
    assert "line one \\n line two" in all_text(message)


# ---- exactly once ---------------------------------------------------------------------------


async def test_the_same_delivery_twice_posts_one_message(bot: RunningBot, slack: FakeSlack) -> None:
    first = await deliver(bot, BODY)
    second = await deliver(bot, BODY)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "duplicate"
    assert len(slack.channel_messages("C0ALERTS")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.calls_to("chat.update") == []


async def test_a_new_reason_updates_the_message_in_place(bot: RunningBot, slack: FakeSlack) -> None:
    await deliver(bot, BODY)
    [message] = slack.channel_messages("C0ALERTS")
    response = await deliver(bot, {**BODY, "reason": "CPU is 99% now", "action_group": "critical"})
    assert response.json()["status"] == "updated"
    [update] = slack.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("C0ALERTS", message["ts"])
    [now] = slack.channel_messages("C0ALERTS")
    assert "CPU is 99% now" in all_text(now) and "`critical`" in all_text(now)
    assert action_ids(now) == EVERY_BUTTON
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_another_alert_of_a_firing_rule_turns_its_message_into_the_group(
    bot: RunningBot, slack: FakeSlack
) -> None:
    await deliver(bot, BODY)
    [original] = top_level(slack)
    second = await deliver(bot, {**BODY, "alert_id": "host-2", "alert_uuid": "u-host-2", "reason": "CPU 95%"})
    assert second.status_code == 200 and second.json()["status"] == "grouped"
    assert [m["ts"] for m in top_level(slack)] == [original["ts"]]  # updated in place, no new message
    now = slack.message("C0ALERTS", original["ts"])
    assert now is not None
    assert "2 firing" in all_text(now) and "`host-1`" in all_text(now) and "`host-2`" in all_text(now)
    menu = element(now, "alert_mute")  # one alert is acted on through the menu
    assert menu["type"] == "static_select"
    assert {Target.unpack(o["value"]).alert_id for o in menu["options"]} == {"host-1", "host-2"}
    assert {"rule_mute_all", "rule_disable", "rule_snooze", "case_open", "rule_link"} <= action_ids(now)
    log = [m["text"] for m in slack.thread("C0ALERTS", original["ts"]) if m["ts"] != original["ts"]]
    assert log == [":rotating_light: 1 firing: `host-2`"]


async def test_once_every_alert_recovered_the_next_alert_is_a_new_message(bot: RunningBot, slack: FakeSlack) -> None:
    await deliver(bot, BODY)
    await deliver(bot, {**BODY, "action_group": "recovered"})
    again = await deliver(bot, {**BODY, "alert_uuid": "another-lifecycle"})
    assert again.json()["status"] == "posted"
    assert len(top_level(slack)) == 2


# ---- recovery -------------------------------------------------------------------------------


async def test_recovered_updates_the_original_message_and_replies_once(bot: RunningBot, slack: FakeSlack) -> None:
    await deliver(bot, BODY)
    [original] = slack.channel_messages("C0ALERTS")
    recovered = {**BODY, "action_group": "recovered", "reason": "CPU back to 40%", "date": "2025-03-04T11:05:00Z"}

    first = await deliver(bot, recovered)
    second = await deliver(bot, recovered)
    assert first.json()["status"] == "recovered"
    assert second.json()["status"] == "duplicate"

    assert [m["ts"] for m in top_level(slack)] == [original["ts"]]  # no new post
    [update] = slack.calls_to("chat.update")
    assert update.params["ts"] == original["ts"]
    now = slack.message("C0ALERTS", original["ts"])
    assert now is not None
    assert action_ids(now) == EVERY_BUTTON - {
        "alert_mute",
        "alert_mute_for",
        "alert_unmute",
        "alert_claim",
    }  # the episode is over
    assert "Recovered" in all_text(now) and "11:05 UTC" in all_text(now) and "CPU back to 40%" in all_text(now)
    replies = [m for m in slack.thread("C0ALERTS", original["ts"]) if m["ts"] != original["ts"]]
    assert [r["text"] for r in replies] == [":white_check_mark: Alert `host-1` of rule `r1` recovered at 11:05 UTC."]


async def test_a_recovery_of_an_alert_never_seen_posts_one_short_message(bot: RunningBot, slack: FakeSlack) -> None:
    recovered = {**BODY, "action_group": "recovered"}
    first = await deliver(bot, recovered)
    second = await deliver(bot, recovered)
    assert first.json()["status"] == "recovery_posted"
    assert second.json()["status"] == "duplicate"
    [message] = slack.channel_messages("C0ALERTS")
    assert message["text"].startswith("Recovered: CPU high")
    assert "alert_mute" not in action_ids(message) and "case_open" in action_ids(message)
    assert slack.calls_to("chat.update") == []


async def test_an_active_delivery_after_the_recovery_changes_nothing(bot: RunningBot, slack: FakeSlack) -> None:
    await deliver(bot, BODY)
    await deliver(bot, {**BODY, "action_group": "recovered"})
    late = await deliver(bot, {**BODY, "reason": "late retry"})
    assert late.json()["status"] == "duplicate"
    assert len(slack.calls_to("chat.update")) == 1
    [message] = slack.channel_messages("C0ALERTS")
    assert "late retry" not in all_text(message)


# ---- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {WEBHOOK_TOKEN}"},
        {"Authorization": f"Bearer {WEBHOOK_TOKEN}x"},
    ],
    ids=["missing", "wrong", "not-bearer", "longer"],
)
async def test_a_bad_token_is_401_and_nothing_is_posted(
    bot: RunningBot, slack: FakeSlack, headers: dict[str, str]
) -> None:
    before = deliveries("unauthorized")
    response = await deliver(bot, BODY, token=None, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "missing or wrong bearer token"}
    assert WEBHOOK_TOKEN not in response.text
    assert slack.calls_to("chat.postMessage") == []
    assert deliveries("unauthorized") == before + 1


async def test_malformed_json_is_400(bot: RunningBot, slack: FakeSlack) -> None:
    response = await deliver(bot, b'{"rule_id": "r1", "reason": "unquoted "x" here"}')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert (await deliver(bot, b"[1, 2]")).status_code == 400
    assert slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"alert_id": None}, "alert_id", "`alert_id` is missing"),
        ({"rule_id": None}, "rule_id", '"rule_id":"{{rule.id}}"'),
        ({"alert_uuid": ""}, "alert_uuid", "`alert_uuid` is empty"),
        ({"action_group": "  "}, "action_group", "is empty"),
        ({"space_id": "Not A Space"}, "space_id", "lowercase"),
        ({"date": "yesterday"}, "date", "`date`"),
        ({"tags": 42}, "tags", "`tags`"),
        ({"rule_id": 17}, "rule_id", "`rule_id`"),
    ],
)
async def test_a_bad_field_is_400_naming_it(
    bot: RunningBot, slack: FakeSlack, change: dict[str, Any], field: str, words: str
) -> None:
    body = {**BODY, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = await deliver(bot, body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert slack.calls_to("chat.postMessage") == []


async def test_a_body_too_large_is_413(bot: RunningBot, slack: FakeSlack) -> None:
    response = await deliver(bot, {**BODY, "reason": "x" * 300_000})
    assert response.status_code == 413
    assert slack.calls_to("chat.postMessage") == []


@pytest.fixture
async def quiet_bot(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """A bot with neither ALERT_WEBHOOK_TOKEN nor ALERT_CHANNEL."""
    settings = make_settings(kibana, slack, tmp_path, alert_webhook_token=None, alert_channel=None)
    async with running_bot(settings, mode="http") as running:
        yield running


async def test_without_the_token_setting_the_route_is_off(quiet_bot: RunningBot, slack: FakeSlack) -> None:
    response = await deliver(quiet_bot, BODY)
    assert response.status_code == 404
    assert slack.calls_to("chat.postMessage") == []


async def test_without_a_channel_anywhere_it_is_400_naming_channel(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, alert_channel=None)
    async with running_bot(settings, mode="http") as running:
        response = await deliver(running, BODY)
        assert response.status_code == 400
        assert response.json()["field"] == "channel"
        named = await deliver(running, {**BODY, "channel": "C0ALERTS"})
        assert named.status_code == 200
    assert len(slack.channel_messages("C0ALERTS")) == 1


# ---- Slack failures are not lost --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [("channel_not_found", 200), ("not_in_channel", 200), ("is_archived", 200)],
)
async def test_a_slack_failure_is_502_and_the_retry_posts_once(
    bot: RunningBot, slack: FakeSlack, error: str, status: int
) -> None:
    slack.fail("chat.postMessage", error, status=status)
    failed = await deliver(bot, BODY)
    assert failed.status_code == 502
    assert failed.json()["slack_error"] == error
    assert error in failed.json()["error"]
    assert slack.channel_messages("C0ALERTS") == []

    retried = await deliver(bot, BODY)
    assert retried.status_code == 200 and retried.json()["status"] == "posted"
    again = await deliver(bot, BODY)
    assert again.json()["status"] == "duplicate"
    assert len(slack.channel_messages("C0ALERTS")) == 1


async def test_a_slack_429_is_never_a_refused_webhook_the_alert_is_posted_after_retry_after(
    bot: RunningBot, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    answer = await deliver(bot, BODY)
    assert answer.status_code in (200, 202), answer.text  # accepted: stored, posted when Slack allows
    await slack.wait_for(lambda: slack.channel_messages("C0ALERTS"))
    assert (await deliver(bot, BODY)).json()["status"] == "duplicate"
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(slack.channel_messages("C0ALERTS")) == 1


async def test_a_channel_that_does_not_exist_is_502_until_fixed(bot: RunningBot, slack: FakeSlack) -> None:
    failed = await deliver(bot, {**BODY, "channel": "#nowhere"})
    assert failed.status_code == 502 and failed.json()["slack_error"] == "channel_not_found"
    slack.add_channel("C0NEW", "nowhere")
    fixed = await deliver(bot, {**BODY, "channel": "#nowhere"})
    assert fixed.status_code == 200
    assert len(slack.channel_messages("C0NEW")) == 1


async def test_a_failed_recovery_update_is_shown_by_the_retry(bot: RunningBot, slack: FakeSlack) -> None:
    await deliver(bot, BODY)
    [original] = slack.channel_messages("C0ALERTS")
    recovered = {**BODY, "action_group": "recovered"}
    slack.fail("chat.postMessage", "not_in_channel")  # the recovery's line in the thread
    failed = await deliver(bot, recovered)
    assert failed.status_code == 502
    retried = await deliver(bot, recovered)
    assert retried.json()["status"] == "recovered"
    assert (await deliver(bot, recovered)).json()["status"] == "duplicate"
    replies = [m for m in slack.thread("C0ALERTS", original["ts"]) if m["ts"] != original["ts"]]
    assert len(replies) == 1


# ---- fast answers and concurrent deliveries ---------------------------------------------------


async def test_concurrent_identical_deliveries_post_one_message(bot: RunningBot, slack: FakeSlack) -> None:
    answers = await asyncio.gather(*(deliver(bot, BODY) for _ in range(5)))
    assert all(a.status_code == 200 for a in answers)
    assert [a.json()["status"] for a in answers].count("posted") == 1
    assert len(slack.channel_messages("C0ALERTS")) == 1


async def test_slow_work_is_answered_202_and_finishes_afterwards(
    bot: RunningBot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alert_webhook, "ANSWER_WITHIN", 0.0)  # any work counts as slow
    queued = deliveries("queued")
    response = await deliver(bot, BODY)
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    await slack.wait_for(lambda: slack.channel_messages("C0ALERTS"))
    assert deliveries("queued") == queued + 1


async def test_a_delivery_is_answered_queued_only_once_it_is_recorded(
    bot: RunningBot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """202 means recorded: a replica killed after answering loses nothing. While the database is too busy
    to record the delivery, the answer waits; past RECORD_WITHIN it is 503, which Kibana retries, and the
    record that lands meanwhile makes the retry a duplicate, counted once."""
    monkeypatch.setattr(alert_webhook, "ANSWER_WITHIN", 0.0)
    monkeypatch.setattr(alert_webhook, "RECORD_WITHIN", 0.3)
    store = bot.runtime.services.store
    record_alerts, database_free = store.record_alerts, asyncio.Event()

    async def busy_database(*args: Any, **kwargs: Any) -> Any:
        await database_free.wait()
        return await record_alerts(*args, **kwargs)

    monkeypatch.setattr(store, "record_alerts", busy_database)  # deliveries are recorded in batches
    not_recorded = deliveries("not_recorded")
    refused = await deliver(bot, BODY)
    assert refused.status_code == 503, refused.text  # Kibana's connector retries a 5xx
    assert "could not record this alert in time" in refused.json()["message"]
    assert deliveries("not_recorded") == not_recorded + 1
    assert slack.channel_messages("C0ALERTS") == []
    database_free.set()  # the first delivery's record lands; Kibana's retry comes
    await slack.wait_for(lambda: top_level(slack))
    monkeypatch.setattr(alert_webhook, "RECORD_WITHIN", 30.0)
    retried = await deliver(bot, BODY)
    assert retried.status_code in (200, 202), retried.text
    await asyncio.sleep(0.5)
    assert len(top_level(slack)) == 1  # one alert, one message

    later, database_free = BODY | {"alert_id": "other", "alert_uuid": "uuid-other"}, asyncio.Event()
    waiting = asyncio.create_task(deliver(bot, later))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # not answered before it is recorded…
    database_free.set()
    assert (await waiting).status_code in (200, 202)  # …then answered as usual
