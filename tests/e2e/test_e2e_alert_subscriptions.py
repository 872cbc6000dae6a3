"""Alert subscriptions end to end: the real bot over real HTTP, the fake Slack, the fake Kibana and the
fake Elasticsearch (its alerts-as-data written by the fake Kibana's rules). The tests drive the
poller's ticks themselves, each at an explicit time; nothing waits on the wall clock."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.checks import check_elasticsearch
from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerts.polling import AlertPoller, SpacePoll

from .conftest import SIGNING_SECRET, WEBHOOK_TOKEN, forget_start_up, make_settings

ALERT_TEXT = re.compile(r" — alert ([\w.-]+)")
GROUP_TEXT = re.compile(r": \d+ firing, \d+ recovered")
ALERT_BUTTONS = {"alert_claim", "alert_mute", "rule_mute_all", "rule_disable", "rule_snooze", "case_open", "rule_link"}


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path) -> Settings:
    kibana.add_rule(id="r1", name="CPU high", tags=["prod", "db"])
    kibana.add_rule(id="r2", name="Disk full", tags=["staging"])
    return es_settings(kibana, slack, es, tmp_path)


def es_settings(
    kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path, **overrides: object
) -> Settings:
    return make_settings(
        kibana, slack, tmp_path, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key, **overrides
    )


@pytest.fixture
async def bot(settings: Settings, kibana: FakeKibana) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, mode="http") as running:
        poller_of(running).paused = True  # the tests tick it
        forget_start_up(kibana)
        yield running


def poller_of(bot: RunningBot) -> AlertPoller:
    return bot.runtime.part(AlertPoller)


class Clock:
    """Explicit tick times, each in a tick slot of its own and past any back-off."""

    def __init__(self, step: timedelta = timedelta(minutes=10)) -> None:
        self._times: Iterator[datetime] = (datetime.now(UTC) + step * i for i in itertools.count(1))

    def next(self) -> datetime:
        return next(self._times)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def tick(bot: RunningBot, clock: Clock) -> dict[str, SpacePoll]:
    return await poller_of(bot).tick(clock.next())


async def command(driver: SlackDriver, slack: FakeSlack, text: str, user_id: str | None = None) -> dict[str, Any]:
    before = len(slack.responses)
    await driver.post(driver.slash_command(text, user_id=user_id))
    await slack.wait_for(lambda: len(slack.responses) > before)
    return slack.responses[before].body


def alert_messages(slack: FakeSlack, channel: str = "C0ALERTS") -> list[dict[str, Any]]:
    """The alert messages of a channel: an alert's own ("[threshold met] CPU high — alert host-1: …"),
    or its rule's group ("CPU high: 2 firing, 0 recovered")."""
    return [
        m
        for m in slack.channel_messages(channel)
        if ALERT_TEXT.search(m.get("text", "")) or GROUP_TEXT.search(m.get("text", ""))
    ]


async def shown(slack: FakeSlack, text: str, channel: str = "C0ALERTS") -> list[dict[str, Any]]:
    """Wait until the publisher shows a message containing `text` (it posts in the background)."""
    return list(await slack.wait_for(lambda: [m for m in alert_messages(slack, channel) if text in m["text"]]))


def action_ids(message: dict[str, Any]) -> set[str]:
    return {
        str(element.get("action_id"))
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    }


async def test_subscribe_then_alerts_appear_with_buttons_within_one_poll(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    answer = await command(driver, slack, "alerts subscribe --rule r1")
    assert "subscribed this channel to the alerts of rule `r1` in Kibana space `default`" in answer["text"]
    es.fire(kibana, "r1", "host-1", "host-2")
    es.fire(kibana, "r2", "disk-1")  # not subscribed
    [poll] = (await tick(bot, clock)).values()
    assert (poll.space, poll.searches, poll.outcomes) == ("default", 1, {"new": 2})
    [message] = await shown(slack, "CPU high: 2 firing, 0 recovered")  # the rule's alerts, grouped
    assert action_ids(message) >= ALERT_BUTTONS
    [search] = es.searches()
    assert search.json["query"]["bool"]["should"] == [{"terms": {"kibana.alert.rule.uuid": ["r1"]}}]

    es.alerts_from(kibana)  # the rules run again: the same alerts are written again
    again = (await tick(bot, clock))["default"]
    assert again.changes >= 2 and again.handed_on == 0  # recognised, not handed on again
    assert len(alert_messages(slack)) == 1


async def test_a_recovery_updates_its_message(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --tag prod")
    es.fire(kibana, "r1", "host-1")
    await tick(bot, clock)
    [message] = await shown(slack, "— alert host-1")
    es.resolve(kibana, "r1", "host-1")
    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"recovered": 1}
    await slack.wait_for(lambda: "alert_mute" not in action_ids(slack.message("C0ALERTS", message["ts"]) or {}))
    updated = slack.message("C0ALERTS", message["ts"])
    assert updated is not None and "recovered" in json.dumps(updated["blocks"]).lower()
    assert len(alert_messages(slack)) == 1  # updated in place, nothing new


async def test_a_restart_in_the_middle_neither_reposts_nor_leaves_a_gap(
    kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path, clock: Clock
) -> None:
    kibana.add_rule(id="r1", name="CPU high", tags=["prod"])
    settings = es_settings(kibana, slack, es, tmp_path, alerts_page_size=10)
    async with running_bot(settings) as bot:
        poller = poller_of(bot)
        poller.paused, poller.max_pages = True, 1  # one page of 10 a tick: a tick stops mid-way
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        await command(driver, slack, "alerts subscribe --all")
        es.fire(kibana, "r1", *(f"host-{i:02}" for i in range(15)))
        first = (await poller.tick(clock.next()))["default"]
        assert (first.outcomes, first.incomplete) == ({"new": 10}, True)
        await shown(slack, "CPU high: 10 firing, 0 recovered")
    es.fire(kibana, "r1", "late-1")  # written while the bot is down
    es.resolve(kibana, "r1", "host-00")
    async with running_bot(settings) as bot:
        poller = poller_of(bot)
        poller.paused, poller.max_pages = True, 1
        while (await poller.tick(clock.next()))["default"].incomplete:
            pass
        # 16 alerts, each counted once (none reposted, none missing), host-00 recovered: one message
        await shown(slack, "CPU high: 15 firing, 1 recovered")
    assert len(alert_messages(slack)) == 1


async def test_the_webhook_and_polling_together_give_one_message(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --all")
    es.fire(kibana, "r1", "host-1")
    doc = es.alert("r1", "host-1")
    body = {
        "rule_id": "r1",
        "rule_name": "CPU high",
        "space_id": "default",
        "alert_id": "host-1",
        "alert_uuid": doc["kibana.alert.uuid"],
        "action_group": "threshold met",
        "state": "active",
        "reason": doc["kibana.alert.reason"],
        "tags": '["prod","db"]',
    }
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{bot.url}/kibana/alerts", json=body, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
        )
    assert answer.json()["status"] == "posted"
    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"duplicate": 1}
    assert len(alert_messages(slack)) == 1


async def test_two_subscribed_channels_each_get_the_alert_once(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    slack.add_channel("C0DB", "db")
    await command(driver, slack, "alerts subscribe --all")
    before = len(slack.responses)
    await driver.post(driver.slash_command("alerts subscribe --tag db", channel_id="C0DB"))
    await slack.wait_for(lambda: len(slack.responses) > before)
    es.fire(kibana, "r1", "host-1")  # rule r1 is tagged prod and db: both subscriptions match
    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"new": 2}
    await shown(slack, "alert host-1")
    await shown(slack, "alert host-1", channel="C0DB")
    await tick(bot, clock)  # read again: nothing more in either channel
    assert len(alert_messages(slack)) == len(alert_messages(slack, "C0DB")) == 1


async def test_elasticsearch_403_tells_the_channel_once_and_check_fails(
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    es: FakeElasticsearch,
    bot: RunningBot,
    clock: Clock,
    settings: Settings,
) -> None:
    await command(driver, slack, "alerts subscribe --rule r1")
    es.deny_alerts_read("none")
    es.fire(kibana, "r1", "host-1")
    for _ in range(3):
        assert (await tick(bot, clock))["default"].problem == "forbidden"
    warnings = [m for m in slack.channel_messages("C0ALERTS") if m["text"].startswith(":warning:")]
    assert len(warnings) == 1
    text = warnings[0]["text"]
    assert "Elasticsearch refuses to let me read Kibana's alerts" in text and "`read` on `.alerts-*`" in text
    [line] = await check_elasticsearch(settings)
    assert line.line().startswith("Elasticsearch: FAILED") and "(403)" in line.line()
    listing = str((await command(driver, slack, "alerts subscriptions"))["blocks"])
    assert "not reading alerts" in listing

    es.allow_alerts_read()
    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"new": 1}  # the alert written while reading failed is not lost
    back = [m for m in slack.channel_messages("C0ALERTS") if m["text"].startswith(":white_check_mark: Reading")]
    assert len(back) == 1
    await shown(slack, "— alert host-1")


async def test_what_the_channels_are_told_about_elasticsearch_is_posted_without_unfurling(
    driver: SlackDriver, slack: FakeSlack, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --all")
    es.deny_alerts_read("none")
    assert (await tick(bot, clock))["default"].problem == "forbidden"
    es.allow_alerts_read()
    assert (await tick(bot, clock))["default"].problem is None
    told = slack.calls_to("chat.postMessage")
    assert [call.params["text"].split(" ")[0] for call in told] == [":warning:", ":white_check_mark:"]
    assert [call.params.get("unfurl_links") for call in told] == [False, False]


async def test_polling_backs_off_while_elasticsearch_is_down(
    driver: SlackDriver, slack: FakeSlack, es: FakeElasticsearch, bot: RunningBot
) -> None:
    await command(driver, slack, "alerts subscribe --all")
    es.fault("POST", r"/.+/_search", status=503)
    poller, start = poller_of(bot), datetime.now(UTC)
    polled = []
    for second in range(0, 300, 5):  # a tick every 5 s for 5 minutes
        poll = (await poller.tick(start + timedelta(seconds=second)))["default"]
        polled.append(poll.polled)
    assert 3 <= sum(polled) <= 6  # 5, 10, 20, 40, 80, 160 s apart, instead of 60 searches
    assert len([m for m in slack.channel_messages("C0ALERTS") if m["text"].startswith(":warning:")]) == 1


async def test_a_responder_is_refused_subscribe(driver: SlackDriver, slack: FakeSlack, bot: RunningBot) -> None:
    answer = await command(driver, slack, "alerts subscribe --all", user_id="U0BOB")
    assert "You need the *operator* role to subscribe channels to alerts" in answer["text"]
    assert await bot.runtime.services.store.list_alert_subscriptions() == []
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.user_id, entry.result) == ("alerts subscribe", "U0BOB", "refused")


async def test_listing_unsubscribing_and_bad_input(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot, es: FakeElasticsearch, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --tag prod --space ops")
    await command(driver, slack, "alerts subscribe --rule r1")
    same = await command(driver, slack, "alerts subscribe --rule r1")
    assert "already gets the alerts of rule `r1`" in same["text"]
    first, second = await bot.runtime.services.store.list_alert_subscriptions()
    listing = str((await command(driver, slack, "alerts subscriptions"))["blocks"])
    assert f"*#{first.id}* · rules tagged `prod` · space `ops`" in listing
    assert f"*#{second.id}* · rule `r1` · space `default`" in listing
    await tick(bot, clock)
    assert len(es.searches()) == 2  # one per space
    for text, expected in [
        ("alerts subscribe", "Say which alerts"),
        ("alerts subscribe --rule", "`--rule` needs a value"),
        ("alerts subscribe --all --tag x", "not several"),
        ("alerts subscribe --rule 'a b'", "is not a Kibana rule id"),
        ("alerts unsubscribe", "Say which subscription"),
        ("alerts unsubscribe x1", "is not a subscription id"),
    ]:
        acked = (await driver.post(driver.slash_command(text))).json()  # usage errors come with the ack
        assert expected in acked["text"], (text, acked["text"])
        assert "/kibana alerts" in acked["text"]
    gone = await command(driver, slack, f"alerts unsubscribe {first.id}")
    assert f"removed alert subscription #{first.id}" in gone["text"]
    assert "removed 1 alert subscription" in (await command(driver, slack, "alerts unsubscribe all"))["text"]
    assert await bot.runtime.services.store.list_alert_subscriptions() == []
    assert await bot.runtime.services.store.alert_poll_states() == []  # spaces without subscriptions forget


async def test_the_configured_subscription_lives_and_goes_with_the_settings(
    kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path, clock: Clock
) -> None:
    kibana.add_rule(id="r9", name="Errors", tags=["prod"], space="ops")
    settings = es_settings(
        kibana,
        slack,
        es,
        tmp_path,
        alerts_subscription_channel="C0ALERTS",
        alerts_subscription="--tag prod --space ops",
    )
    async with running_bot(settings) as bot:
        poller_of(bot).paused = True
        [configured] = await bot.runtime.services.store.list_alert_subscriptions()
        assert (configured.channel, configured.space, configured.kind, configured.value) == (
            "C0ALERTS",
            "ops",
            "tag",
            "prod",
        )
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        refused = await command(driver, slack, f"alerts unsubscribe {configured.id}")
        assert "declared in the bot's configuration" in refused["text"]
        es.fire(kibana, "r9", "svc-1", space="ops")
        assert (await poller_of(bot).tick(clock.next()))["ops"].outcomes == {"new": 1}
        await shown(slack, "— alert svc-1")
    async with running_bot(es_settings(kibana, slack, es, tmp_path)) as bot:
        assert await bot.runtime.services.store.list_alert_subscriptions() == []


async def test_without_elasticsearch_url_subscribe_says_what_is_missing(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    async with running_bot(make_settings(kibana, slack, tmp_path)) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        answer = await command(driver, slack, "alerts subscribe --all")
        assert "ELASTICSEARCH_URL" in answer["text"]
        assert await bot.runtime.services.store.list_alert_subscriptions() == []
