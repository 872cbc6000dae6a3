"""Richer alert messages (issue 27 items 5-6): the value against its threshold, flapping, the
maintenance window an alert is in, linked cases and the alert's own page in Kibana — from the
webhook body where it has them and from alerts-as-data — and nothing an alert does not carry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerts.card_facts import FACTS_BLOCK
from tests.unit.test_long_ids_fit_slack import validated

from .conftest import forget_start_up
from .test_e2e_alert_subscriptions import Clock, command, es_settings, poller_of, shown
from .test_e2e_alerts_webhook import BODY, all_text, deliver


def facts_of(message: dict[str, Any]) -> list[str]:
    validated(message["blocks"])
    return [e["text"] for b in message["blocks"] if b.get("block_id") == FACTS_BLOCK for e in b["elements"]]


async def alert_message(slack: FakeSlack, channel: str = "C0ALERTS") -> dict[str, Any]:
    [message] = await slack.wait_for(lambda: slack.channel_messages(channel))
    return dict(message)


# ---- from the webhook -----------------------------------------------------------------------


async def test_a_webhook_body_with_flapping_value_and_link_shows_them(
    bot: RunningBot, slack: FakeSlack, settings: Settings
) -> None:
    body = {
        **BODY,
        "flapping": "true",
        "value": "0.97",
        "conditions": "avg(system.cpu.total.norm.pct) is greater than 0.9 <!channel>",
        "alert_url": "/app/observability/alerts/8f0c2a4e-1111-4c3b-9d1e-000000000001",
    }
    assert (await deliver(bot, body)).status_code == 200
    message = await alert_message(slack)
    facts = facts_of(message)
    assert facts[0] == ":bar_chart: Value `0.97`"  # the webhook has no threshold variable: none is shown
    assert facts[1] == "Condition: avg(system.cpu.total.norm.pct) is greater than 0.9 &lt;!channel&gt;"
    assert facts[2].startswith(":left_right_arrow: *Flapping*")
    base = settings.kibana_link_base.rstrip("/")
    assert (
        facts[3] == f"<{base}/app/observability/alerts/8f0c2a4e-1111-4c3b-9d1e-000000000001|Open the alert in Kibana>"
    )
    assert "<!channel>" not in all_text(message)


async def test_a_link_elsewhere_and_a_body_without_facts_show_nothing_more(bot: RunningBot, slack: FakeSlack) -> None:
    body = {**BODY, "flapping": "false", "alert_url": "https://evil.example.com/app/observability/alerts/x"}
    assert (await deliver(bot, body)).status_code == 200
    message = await alert_message(slack)
    assert facts_of(message) == []  # not flapping, and a link outside KIBANA_PUBLIC_URL is never shown
    assert "evil.example.com" not in all_text(message)
    assert (await deliver(bot, {**BODY, "alert_id": "host-2", "alert_uuid": "u-2"})).status_code == 200
    group = await slack.wait_for(lambda: [m for m in slack.channel_messages("C0ALERTS") if "2 firing" in m["text"]])
    assert group  # the original body (no fact keys) is still accepted as before


# ---- from alerts-as-data ---------------------------------------------------------------------


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
async def polling_bot(
    kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    kibana.add_rule(id="r1", name="CPU high", tags=["web", "prod"])
    kibana.add_rule(id="r2", name="Disk full", tags=["db"])
    async with running_bot(es_settings(kibana, slack, es, tmp_path), mode="http") as running:
        poller_of(running).paused = True
        forget_start_up(kibana)
        yield running


async def test_an_alert_inside_a_maintenance_window_says_so_with_its_value_and_cases(
    polling_bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, settings: Settings
) -> None:
    driver = SlackDriver(signing_secret=settings.slack_signing_secret.get_secret_value(),  # type: ignore[union-attr]
                         events_url=polling_bot.events_url, fake_slack=slack)  # fmt: skip
    await command(driver, slack, "alerts subscribe --all")
    started = await command(driver, slack, 'mw start 2h --title "Deploy web" --tag web')
    assert "started maintenance window *Deploy web*" in started["text"]
    [(_, window_id)] = kibana.state.maintenance_windows

    es.fire(kibana, "r1", "host-1")  # tagged web: Kibana puts it in the window
    es.fire(kibana, "r2", "disk-1")  # tagged db: outside it
    doc = es.alert("r1", "host-1")
    assert doc["kibana.alert.maintenance_window_ids"] == [window_id]
    assert es.alert("r2", "disk-1")["kibana.alert.maintenance_window_ids"] == []
    es.alerts["" + doc["kibana.alert.uuid"]].case_ids = ["case-42"]
    await poller_of(polling_bot).tick(Clock().next())

    [cpu] = await shown(slack, "CPU high — alert host-1")
    facts = facts_of(cpu)
    assert ":bar_chart: Value `0.945` against threshold `0.9`" in facts
    assert "Condition: avg(system.cpu.total.norm.pct) is greater than 0.9" in facts
    assert ":construction: In maintenance window *Deploy web*: Kibana sends no notification of it" in facts
    assert ":briefcase: Linked case `case-42`" in facts
    link = settings.kibana_link_base.rstrip("/") + f"/app/observability/alerts/{doc['kibana.alert.uuid']}"
    assert f"<{link}|Open the alert in Kibana>" in facts
    assert not any("Flapping" in f for f in facts)  # the document says it is not flapping
    title_reads = [r for r in kibana.requests if r.route == "/api/maintenance_window/{id}"]
    assert [r.path for r in title_reads] == [f"/api/maintenance_window/{window_id}"]

    [disk] = await shown(slack, "Disk full — alert disk-1")
    assert not any("maintenance window" in f for f in facts_of(disk))


async def test_a_flapping_alert_document_gets_the_badge(
    polling_bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, settings: Settings
) -> None:
    await polling_bot.runtime.services.store.add_alert_subscription(
        channel="C0ALERTS", space="default", kind="all", value="", created_by="U0ALICE"
    )
    es.fire(kibana, "r2", "disk-1")
    es.alerts[es.alert("r2", "disk-1")["kibana.alert.uuid"]].flapping = True
    await poller_of(polling_bot).tick(datetime.now(UTC) + timedelta(minutes=10))
    [disk] = await shown(slack, "Disk full — alert disk-1")
    assert any(f.startswith(":left_right_arrow: *Flapping*") for f in facts_of(disk))
