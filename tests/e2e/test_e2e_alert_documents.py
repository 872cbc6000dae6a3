"""Alert subscriptions against alerts-as-data written as Kibana writes it (read in its source): every
document of a rule run stamped with the run's start and written at its end, untracking that changes
only the status, `kibana.alert.end` and `kibana.alert.time_range`, and documents the bot cannot keep
as they are. The real bot over real HTTP, the fake Slack, Kibana and Elasticsearch; the tests tick
the poller themselves."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .conftest import KIBANA_KEY
from .test_e2e_alert_subscriptions import (
    Clock,
    action_ids,
    alert_messages,
    bot,
    clock,
    command,
    es,
    settings,
    shown,
    tick,
)

__all__ = ["bot", "clock", "es", "settings"]  # the fixtures, shared with the subscriptions' tests


async def test_a_rule_disabled_with_untrack_leaves_firing_and_loses_its_mute_button(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    es.follow(kibana)  # Kibana untracks in alerts-as-data while it answers the disable
    await command(driver, slack, "alerts subscribe --all")
    t = datetime.now(UTC)
    es.fire(kibana, "r1", "host-1", at=t)
    await tick(bot, clock)
    [message] = await shown(slack, "— alert host-1")
    assert "alert_mute" in action_ids(message)
    es.fire(kibana, "r2", "disk-1", at=t + timedelta(seconds=30))  # another rule runs later: read too
    await tick(bot, clock)
    await shown(slack, "— alert disk-1")

    async with httpx.AsyncClient() as http:  # someone disables r1 in Kibana, untracking its alerts
        answer = await http.post(
            f"{kibana.url}/api/alerting/rule/r1/_disable",
            json={"untrack": True},
            headers={"Authorization": f"ApiKey {KIBANA_KEY}", "kbn-xsrf": "true"},
        )
    assert answer.status_code == 204
    doc = es.alert("r1", "host-1")  # only the status, the end and the time range changed
    assert (doc["kibana.alert.status"], doc["event.action"], doc["@timestamp"]) == ("untracked", "open", iso(t))
    assert doc["kibana.alert.time_range"]["lte"] == doc["kibana.alert.end"]

    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"recovered": 1}
    await slack.wait_for(lambda: "alert_mute" not in action_ids(slack.message("C0ALERTS", message["ts"]) or {}))
    updated = slack.message("C0ALERTS", message["ts"])
    assert updated is not None and updated["text"].startswith("Recovered: CPU high — alert host-1")
    assert len(alert_messages(slack)) == 2  # updated in place


async def test_the_recovery_written_by_a_20_s_run_updates_the_message(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --all")
    t = datetime.now(UTC)
    es.fire(kibana, "r1", "host-1", at=t)
    await tick(bot, clock)
    [message] = await shown(slack, "— alert host-1")
    # r1 runs again from t+15 s to t+35 s and no longer finds host-1; meanwhile r2 ran at t+30 s and was read.
    es.fire(kibana, "r2", "disk-1", at=t + timedelta(seconds=30))
    await tick(bot, clock)
    es.resolve(kibana, "r1", "host-1", at=t + timedelta(seconds=15))  # written at its end, stamped with its start
    assert es.alert("r1", "host-1")["@timestamp"] == iso(t + timedelta(seconds=15))

    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"recovered": 1}
    await slack.wait_for(lambda: "alert_mute" not in action_ids(slack.message("C0ALERTS", message["ts"]) or {}))
    updated = slack.message("C0ALERTS", message["ts"])
    assert updated is not None and updated["text"].startswith("Recovered: CPU high — alert host-1")


async def test_a_new_alert_written_by_a_long_run_is_posted(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot, clock: Clock
) -> None:
    await command(driver, slack, "alerts subscribe --all")
    t = datetime.now(UTC)
    es.fire(kibana, "r1", "host-1", at=t + timedelta(seconds=20))  # a short run of r1, read first
    await tick(bot, clock)
    es.fire(kibana, "r2", "disk-1", at=t + timedelta(seconds=2))  # r2's run began before it and ended after
    poll = (await tick(bot, clock))["default"]
    assert poll.outcomes == {"new": 1}
    await shown(slack, "— alert disk-1")


async def test_documents_the_bot_cannot_keep_as_they_are_never_stop_the_alerts_after_them(
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    es: FakeElasticsearch,
    bot: RunningBot,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.alerts.alert_documents")
    kibana.add_rule(id="r3", name="Checkout latency")
    await command(driver, slack, "alerts subscribe --all")
    long_id = "host-" + "x" * 600  # over the 512 characters the bot keeps of an alert id
    es.fire(kibana, "r1", long_id)
    es.add_alert(rule_id="r1", instance_id="host-2", rule_name="CPU high", reason="slow " * 5000)  # 25,000 characters
    es.fire(kibana, "r2", "disk-1")
    broken = es.alert("r2", "disk-1")["kibana.alert.uuid"]
    es.alerts[broken].extra["kibana.alert.start"] = "not a date"  # a field Elasticsearch holds in another type

    first = (await tick(bot, clock))["default"]
    # Clipped by the poller: the alert id. The reason the delivery model clips itself, to what Slack shows.
    assert (first.problem, first.clipped, first.unshown, first.outcomes) == (None, 1, 1, {"new": 2})
    es.fire(kibana, "r3", "svc-1")  # a later alert of the space
    es.run_rule(kibana, "r2")  # r2 runs again: the broken document is written again
    for _ in range(3):
        assert (await tick(bot, clock))["default"].problem is None
    await shown(slack, "Checkout latency — alert svc-1")
    await shown(slack, "CPU high: 2 firing")  # the clipped alerts are shown (grouped: one rule)
    texts = " ".join(str(m) for m in slack.channel_messages("C0ALERTS"))
    # The id is shown clipped (its reason, which names it, may show it whole as text)
    assert f"`{long_id}`" not in texts and "host-" + "x" * 500 in texts
    reports = [r.getMessage() for r in caplog.records if "kibana.alert.start" in r.getMessage()]
    assert len(reports) == 1 and broken in reports[0]  # reported once, naming the document


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
