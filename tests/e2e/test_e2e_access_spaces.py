"""Grants that name Kibana spaces, end to end: the real bot over real signed HTTP, the fake Slack, the
fake Kibana and the fake Elasticsearch. Olive is an operator in space `default` only; in space `ops`
she has no role (the default role holds only in `default`). Whatever she asks of `ops` — a subscription,
a read, a button's write, removing a subscription — is refused with a sentence naming the space,
before Kibana or Elasticsearch is called; refused writes are in the audit trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.checks import Subscribing, check_database
from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers import build_catalog
from handlers.alerting import actions as values
from handlers.alerting.target import Target
from handlers.shared.blocks import actions, button

from .conftest import SIGNING_SECRET, forget_start_up, make_settings

OLIVE = "U0OLIVE01"
POLICY = """
default_role = "viewer"
default_spaces = ["default"]

[[grants]]
role = "admin"
users = ["U0ALICE"]

[[grants]]
role = "operator"
users = ["U0OLIVE01"]
spaces = ["default"]
"""
OPS_REFUSAL = "You need the *operator* role in Kibana space `ops` to subscribe channels to alerts"


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path) -> Settings:
    kibana.add_rule(id="r1", name="CPU high", tags=["prod"], active_alerts=["host-1"])
    kibana.add_rule(id="r9", name="Ops queue", space="ops", tags=["prod"], active_alerts=["q-1"])
    policy = tmp_path / "spaces.toml"
    policy.write_text(POLICY)
    return make_settings(
        kibana, slack, tmp_path, access_policy=policy, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key
    )


@pytest.fixture
def clean(kibana: FakeKibana, bot: RunningBot) -> None:
    forget_start_up(kibana)
    kibana.requests.clear()


async def command(driver: SlackDriver, slack: FakeSlack, text: str, user_id: str = OLIVE) -> dict[str, Any]:
    payload = driver.slash_command(text, user_id=user_id)
    assert (await driver.post(payload)).status_code == 200
    [first, *_] = await slack.wait_for(lambda: [r for r in slack.responses if r.url == payload["response_url"]])
    body: dict[str, Any] = first.body
    return body


def shown(answer: dict[str, Any]) -> str:
    return answer["text"] + json.dumps(answer.get("blocks") or [])


@pytest.mark.usefixtures("clean")
async def test_a_subscription_to_a_space_the_grant_does_not_name_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    store = bot.runtime.services.store
    es_before = len(es.requests)
    answer = await command(driver, slack, "alerts subscribe --tag prod --space ops")
    assert answer["text"].startswith(OPS_REFUSAL)
    assert "you have no role there" in answer["text"] and "ACCESS_POLICY" in answer["text"]
    assert await store.list_alert_subscriptions() == []
    assert kibana.requests == [] and len(es.requests) == es_before
    [entry] = await store.list_audit(limit=5)
    assert (entry.action, entry.user_id, entry.space, entry.result) == ("alerts subscribe", OLIVE, "ops", "refused")
    assert "needs operator" in entry.detail
    # in the space her grant names, the same subscription is made
    made = await command(driver, slack, "alerts subscribe --tag prod")
    assert "subscribed this channel to the alerts of rules tagged `prod` in Kibana space `default`" in made["text"]
    [subscription] = await store.list_alert_subscriptions()
    assert (subscription.space, subscription.created_by) == ("default", OLIVE)


@pytest.mark.usefixtures("clean")
async def test_a_read_in_a_space_the_grant_does_not_name_is_refused_before_kibana(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    for text in ("rules --space ops", "rule r9 --space ops", "health --space ops"):
        answer = await command(driver, slack, text)
        assert answer["text"].startswith("You need the *viewer* role in Kibana space `ops` to "), text
    assert kibana.requests == []
    assert await bot.runtime.services.store.list_audit(limit=5) == []  # refused reads are not audited (as ever)
    found = await command(driver, slack, "rules")  # her own space
    assert "CPU high" in shown(found) and "Ops queue" not in shown(found)
    assert [(r.method, r.route) for r in kibana.requests] == [("GET", "/api/alerting/rules/_find")]


@pytest.mark.usefixtures("clean")
async def test_a_button_acting_in_another_space_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    ops = Target(rule_id="r9", space="ops", alert_id="q-1")
    message = {
        "type": "message",
        "ts": "1700000000.000100",
        "text": "Ops queue",
        "blocks": [actions(button("Mute", values.ALERT_MUTE, ops.pack()), block_id="rule_actions")],
    }
    before = len(slack.responses)
    payload = driver.block_action(values.ALERT_MUTE, ops.pack(), message=message, user_id=OLIVE, is_ephemeral=True)
    assert (await driver.post(payload)).status_code == 200
    [told] = (await slack.wait_for(lambda: slack.responses[before:]))[:1]
    assert told.body["text"].startswith("You need the *responder* role in Kibana space `ops` to `mute` alerts")
    assert kibana.requests == []
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.space, entry.result, entry.rule_id) == ("mute", "ops", "refused", "r9")


@pytest.mark.usefixtures("clean")
async def test_removing_a_subscription_checks_its_space(driver: SlackDriver, slack: FakeSlack, bot: RunningBot) -> None:
    store = bot.runtime.services.store
    await command(driver, slack, "alerts subscribe --all --space ops", user_id="U0ALICE")
    await command(driver, slack, "alerts subscribe --rule r1", user_id="U0ALICE")
    ops, here = sorted(await store.list_alert_subscriptions(), key=lambda s: s.space != "ops")
    one = await command(driver, slack, f"alerts unsubscribe {ops.id}")
    assert one["text"].startswith("You need the *operator* role in Kibana space `ops` to remove alert subscriptions")
    every = await command(driver, slack, "alerts unsubscribe all")
    assert f"removed 1 alert subscription from this channel: #{here.id}." in every["text"]
    assert f"Kept #{ops.id} (space `ops`): the access policy does not give you the *operator* role" in every["text"]
    assert [s.id for s in await store.list_alert_subscriptions()] == [ops.id]
    refused = [e for e in await store.list_audit(limit=10) if e.result == "refused"]
    assert [(e.action, e.space, e.target) for e in refused] == [
        ("alerts unsubscribe", "ops", f"alert subscription {ops.id}")
    ] * 2


@pytest.mark.usefixtures("clean")
async def test_whoami_can_i_and_audit_reflect_the_space_grants(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    await command(driver, slack, "alerts subscribe --all --space ops", user_id="U0ALICE")
    me = shown(await command(driver, slack, "whoami"))
    assert "You are *operator* in <#C0ALERTS> in space `default`" in me
    assert "grant operator (spaces.toml line " in me and "in spaces default" in me
    assert "`default`: *operator*" in me and "every other space, and APM" in me and ": *none*" in me
    assert "`alerts subscribe`" in me and "`apm config list`" not in me  # APM needs a role in every space
    no = await command(driver, slack, "can-i alerts subscribe --space ops")
    assert no["text"].startswith("No in <#C0ALERTS> in space `ops`. " + OPS_REFUSAL)
    assert "You do have it in <#C0ALERTS> in space `default` (add `--space <id>`)" in no["text"]
    yes = await command(driver, slack, "can-i alerts subscribe")
    assert yes["text"].startswith("Yes: `alerts subscribe` needs the *operator* role, and you are *operator*")
    await command(driver, slack, "alerts subscribe --rule r1")
    trail = shown(await command(driver, slack, "audit"))
    assert "Audit trail in space `default`" in trail and "alerts subscribe" in trail
    assert "space `ops`" not in trail  # Alice's subscription in ops is not Olive's to read
    everything = shown(await command(driver, slack, "audit", user_id="U0ALICE"))
    assert "alerts subscribe" in everything and "space `ops`" in everything


@pytest.mark.usefixtures("clean")
async def test_check_names_the_subscriptions_a_changed_policy_no_longer_allows(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot, tmp_path: Path
) -> None:
    await command(driver, slack, "alerts subscribe --tag prod")  # Olive, in space default
    await command(driver, slack, "health subscribe every 1h")
    await command(driver, slack, "alerts subscribe --all --space ops", user_id="U0ALICE")
    settings = bot.runtime.services.settings
    catalog = build_catalog()
    subscribing = Subscribing(catalog.action("alerts subscribe"), catalog.action("health subscribe"))
    assert [r.service for r in await check_database(settings, subscribing)] == ["Database"]  # all still allowed
    changed = tmp_path / "changed.toml"
    changed.write_text(POLICY.replace('spaces = ["default"]', 'spaces = ["ops"]'))  # Olive now operates ops only
    [database, review] = await check_database(settings.model_copy(update={"access_policy": changed}), subscribing)
    assert database.ok and review.service == "Access policy" and review.ok and review.warning
    store = bot.runtime.services.store
    [olives] = [s for s in await store.list_alert_subscriptions() if s.created_by == OLIVE]
    [report] = await store.list_subscriptions()
    assert f"alert subscription #{olives.id} in C0ALERTS (space default)" in review.detail
    assert f"health-report subscription #{report.id} in C0ALERTS (space default)" in review.detail
    assert review.detail.startswith("2 subscriptions made by someone the policy no longer lets make them there")
    assert "(space ops)" not in review.detail  # Alice's grant holds in every space


async def test_after_a_policy_change_the_channels_lists_flag_what_it_no_longer_allows(
    settings: Settings, slack: FakeSlack, tmp_path: Path
) -> None:
    async with running_bot(settings, mode="http") as before:
        olive = SlackDriver(signing_secret=SIGNING_SECRET, events_url=before.events_url, fake_slack=slack)
        await command(olive, slack, "alerts subscribe --tag prod")
        await command(olive, slack, "health subscribe every 1h")
        listing = shown(await command(olive, slack, "alerts subscriptions", user_id="U0ALICE"))
        assert "no longer lets" not in listing
    changed = tmp_path / "changed.toml"
    changed.write_text(POLICY.replace('spaces = ["default"]', 'spaces = ["ops"]'))  # Olive now operates ops only
    async with running_bot(settings.model_copy(update={"access_policy": changed}), mode="http") as after:
        alice = SlackDriver(signing_secret=SIGNING_SECRET, events_url=after.events_url, fake_slack=slack)
        [made] = await after.runtime.services.store.list_alert_subscriptions()
        [report] = await after.runtime.services.store.list_subscriptions()
        alerts = shown(await command(alice, slack, "alerts subscriptions", user_id="U0ALICE"))
        assert (
            f"the access policy no longer lets <@{OLIVE}> (who made it) subscribe this channel in space `default`; "
            f"it still posts until removed: `/kibana alerts unsubscribe {made.id}`"
        ) in alerts
        health = shown(await command(alice, slack, "health subscriptions", user_id="U0ALICE"))
        assert f"no longer lets <@{OLIVE}> (who made it)" in health
        assert f"`/kibana health unsubscribe {report.id}`" in health
