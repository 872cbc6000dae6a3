"""*Add to case…* on alert and group messages, end to end: the form's menu lists the open cases Kibana
finds (`GET /api/cases/_find` by what is typed, open, CASE_OWNER, the alert's space), the alert goes in
as an alert attachment (`POST /api/cases/{id}/comments`, `type: alert`) naming its alerts-as-data
document (`_id`, `_index` read from Elasticsearch, or the rule type's alias without it), a group
message attaches its episode's alerts in batches, and the case's link goes into the alert's thread.
Forged values are refused and audited."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.settings import Settings
from devkit.contract import ContractValidator, spec_path
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import AlertVariables, documented_bodies, render_body, send
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.cases import attach

from .conftest import WEBHOOK_TOKEN, make_settings
from .test_e2e_alert_groups import storm
from .test_e2e_alerts_webhook import BODY, deliver, element

CHANNEL = "C0ALERTS"
FIRING, _ = documented_bodies((Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8"))
UUID = BODY["alert_uuid"]
COMMENTS = "/api/cases/{caseId}/comments"


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key)


async def alert_message(bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch) -> dict[str, Any]:
    """Rule r1's alert host-1: its document in alerts-as-data, its message in #alerts."""
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    es.add_alert(rule_id="r1", instance_id="host-1", rule_name="CPU high", uuid=UUID)
    response = await deliver(bot, BODY)
    assert response.status_code == 200, response.text
    [message] = slack.channel_messages(CHANNEL)
    return message


async def open_attach(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Click *Add to case…*; the form once the bot made it ready (its menu)."""
    updates = len(slack.calls_to("views.update"))
    value = element(message, "case_attach")["value"]
    response = await driver.post(driver.block_action("case_attach", value, message=message, **kw))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    return slack.views[call.params["view_id"]]


async def menu(driver: SlackDriver, view: dict[str, Any], typed: str = "", **kw: Any) -> list[dict[str, Any]]:
    response = await driver.post(driver.block_suggestion(view, "case_pick", typed, **kw))
    assert response.status_code == 200
    options: list[dict[str, Any]] = response.json()["options"]
    return options


async def submit(driver: SlackDriver, view: dict[str, Any], values: dict[str, Any]) -> Any:
    response = await driver.post(driver.view_submission(view, values))
    assert response.status_code == 200
    return response.json() if response.content else None


def comment_posts(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method == "POST" and r.route == COMMENTS]


def thread_replies(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    """What the bot said in the alert's thread (the case card apart)."""
    replies = [m for m in slack.thread(CHANNEL, message["ts"]) if m["ts"] != message["ts"]]
    return [m["text"] for m in replies if not is_card(m)]


def is_card(posted: dict[str, Any]) -> bool:
    return any(b.get("block_id") == "case_card" for b in posted.get("blocks") or [])


def cards(slack: FakeSlack, message: dict[str, Any]) -> list[dict[str, Any]]:
    """The case cards in the alert's thread."""
    return [m for m in slack.thread(CHANNEL, message["ts"]) if is_card(m)]


def contract_checked(sent: Any) -> None:
    path = spec_path()
    assert path is not None
    ContractValidator(path).validate_request(
        "POST", sent.path, headers=sent.headers, body=sent.body, content_type="application/json"
    )


async def test_an_alert_is_attached_to_the_case_chosen_in_the_menu(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    wanted = kibana.add_case(title="Database latency on checkout")
    kibana.add_case(title="Database maintenance", status="closed")
    kibana.add_case(title="Database alerts for security", owner="securitySolution")
    kibana.add_case(title="Unrelated printer jam")
    kibana.add_case(title="Database in another space", space="ops")
    message = await alert_message(bot, slack, kibana, es)

    view = await open_attach(driver, slack, message)
    assert view["callback_id"] == "case_attach_modal"
    assert "alert `host-1` of rule `r1`" in str(view["blocks"])
    options = await menu(driver, view, "datab")  # as it is being typed
    assert [o["text"]["text"] for o in options] == ["Database latency on checkout"]  # open, cases, default space
    [find] = [r for r in kibana.requests if r.route == "/api/cases/_find"]
    assert find.query["status"] == "open" and find.query["owner"] == "cases"
    assert find.query["search"] == "datab*" and find.query["searchFields"] == ["title", "description"]
    assert [o["text"]["text"] for o in await menu(driver, view, 'latency "(checkout')] == [
        o["text"]["text"] for o in options
    ]

    assert await submit(driver, view, {"case_pick": {"case_pick": options[0]["value"]}}) is None
    replies = await slack.wait_for(lambda: thread_replies(slack, message))
    [sent] = comment_posts(kibana)
    assert sent.path == f"/api/cases/{wanted['id']}/comments"
    [doc] = es.alerts.values()
    assert sent.json == {
        "type": "alert",
        "alertId": [UUID],
        "index": [doc.index],  # the concrete index behind the alias, as Elasticsearch answered
        "rule": {"id": "r1", "name": "CPU high"},
        "owner": "cases",
    }
    assert doc.index.startswith(".internal.alerts-stack.alerts-default-")
    contract_checked(sent)
    case = kibana.case(wanted["id"])
    assert case["totalAlerts"] == 1
    url = f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{wanted['id']}"
    assert replies == [f"<@U0ALICE> attached alert `host-1` to Kibana case <{url}|Database latency on checkout>."]
    [entry, *_] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result, entry.target) == ("attach", "ok", wanted["id"])


async def test_a_new_case_without_elasticsearch_names_the_rule_types_alias(
    slack: FakeSlack, kibana: FakeKibana, tmp_path: Path
) -> None:
    from devkit.harness import running_bot

    from .conftest import SIGNING_SECRET, forget_start_up

    async with running_bot(make_settings(kibana, slack, tmp_path), mode="http") as bot:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"], rule_type_id="metrics.alert.threshold")
        assert (await deliver(bot, BODY)).status_code == 200
        [message] = slack.channel_messages(CHANNEL)
        view = await open_attach(driver, slack, message)
        answer = await submit(driver, view, {"case_new_title": {"case_new_title": "CPU high on host-1"}})
        assert answer is None
        replies = await slack.wait_for(lambda: thread_replies(slack, message))
        [created] = [r for r in kibana.requests if r.method == "POST" and r.route == "/api/cases"]
        assert created.json["title"] == "CPU high on host-1" and created.json["owner"] == "cases"
        [sent] = comment_posts(kibana)
        assert sent.json["alertId"] == [UUID]
        assert sent.json["index"] == [".alerts-observability.metrics.alerts-default"]
        contract_checked(sent)
        [case] = kibana.cases.values()
        assert case["totalAlerts"] == 1 and "|CPU high on host-1>." in replies[0]


async def test_a_group_message_attaches_its_episodes_alerts_in_batches(
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    es: FakeElasticsearch,
    bot: RunningBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attach, "ATTACH_BATCH", 2)
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=[f"r1-host-{n}" for n in range(5)])
    for body in storm("r1", range(5)):
        es.add_alert(rule_id="r1", instance_id=body["alert_id"], rule_name="Rule r1", uuid=body["alert_uuid"])
    # one alert of the episode whose document Kibana has deleted since
    for body in [*storm("r1", range(5)), *storm("r1", range(5, 6))]:
        assert (await deliver(bot, body)).status_code == 200
    await slack.wait_for(lambda: "6 firing" in (slack.channel_messages(CHANNEL) or [{}])[0].get("text", ""))
    [message] = [m for m in slack.channel_messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]
    assert Target.unpack(element(message, "case_attach")["value"]).alert_id is None  # the rule: the group
    wanted = kibana.add_case(title="Rule r1 storm")

    view = await open_attach(driver, slack, message)
    [option] = await menu(driver, view)
    assert await submit(driver, view, {"case_pick": {"case_pick": option["value"]}}) is None
    await slack.wait_for(lambda: [t for t in thread_replies(slack, message) if "attached" in t])
    sent = comment_posts(kibana)
    assert [len(r.json["alertId"]) for r in sent] == [2, 2, 1]  # batches of ATTACH_BATCH, one rule each
    assert {r.json["rule"]["id"] for r in sent} == {"r1"}
    attached = [a for r in sent for a in r.json["alertId"]]
    assert sorted(attached) == sorted(f"r1-uuid-{n}" for n in range(5))
    for request in sent:
        contract_checked(request)
    assert kibana.case(wanted["id"])["totalAlerts"] == 5
    [said] = [t for t in thread_replies(slack, message) if "attached" in t]
    assert said.startswith("<@U0ALICE> attached 5 alerts of rule `r1` to Kibana case <")
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "alerts-as-data" in e["text"]])
    assert "1 alert of this message" in told[0]


async def test_a_case_with_1000_alerts_takes_no_more(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    full = kibana.add_case(title="Full case")
    kibana.case(full["id"])["totalAlerts"] = 1000
    message = await alert_message(bot, slack, kibana, es)
    view = await open_attach(driver, slack, message)
    assert await submit(driver, view, {"case_pick": {"case_pick": full["id"]}}) is None
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "1,000" in e["text"]])
    assert "already holds 1,000 alerts" in told[0]
    assert comment_posts(kibana) == []
    assert thread_replies(slack, message) == []


async def test_a_forged_button_value_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    message = await alert_message(bot, slack, kibana, es)
    kibana.add_rule(id="r2", name="Other", active_alerts=["db-1"])
    forged = Target(rule_id="r2", space="default", alert_id="db-1", alert_uuid="other").pack()
    tampered = copy.deepcopy(message)  # a client sending back another value than the bot put in the button
    element(tampered, "case_attach")["value"] = forged
    response = await driver.post(driver.block_action("case_attach", forged, message=tampered))
    assert response.status_code == 200
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "does not show" in e["text"]])
    assert "alert `db-1` of rule `r2`" in told[0]
    assert slack.calls_to("views.open") == []
    [entry, *_] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result) == ("attach", "refused") and "forged value" in entry.detail


async def test_a_forged_form_is_refused_and_audited_and_its_menu_is_empty(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    kibana.add_case(title="Database latency")
    message = await alert_message(bot, slack, kibana, es)
    view = await open_attach(driver, slack, message)
    forged = {**view, "private_metadata": view["private_metadata"].replace('"r1"', '"r2"')}
    slack.views[view["id"]] = forged
    assert await menu(driver, forged) == []
    answer = await submit(driver, forged, {"case_pick": {"case_pick": "anything"}})
    assert answer["response_action"] == "errors"
    await asyncio.sleep(0.2)
    assert comment_posts(kibana) == []
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert any(e.action == "attach" and e.result == "refused" and "forged" in e.detail for e in entries)


async def test_a_slow_kibana_leaves_the_menu_empty_within_slacks_3_s(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    kibana.add_case(title="Database latency")
    message = await alert_message(bot, slack, kibana, es)
    view = await open_attach(driver, slack, message)
    kibana.fault("GET", "/api/cases/_find", latency=6)
    started = time.monotonic()
    assert await menu(driver, view, "database") == []  # never an error option someone could choose
    assert time.monotonic() - started < 3.0  # Slack waits 3 s for options
    kibana.clear_faults()
    [option] = await menu(driver, view, "database")
    assert option["text"]["text"] == "Database latency"


async def test_the_forms_validate_as_block_kit(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    message = await alert_message(bot, slack, kibana, es)
    await open_attach(driver, slack, message)
    for call in [*slack.calls_to("views.open"), *slack.calls_to("views.update")]:
        View(**call.params["view"])  # slack_sdk's models accept the form, before and after it is ready
    answer = await driver.post(driver.slash_command("attach"))
    assert answer.status_code == 200
    said = await slack.wait_for(lambda: [r.body["text"] for r in slack.responses if "Add to case" in r.body["text"]])
    assert said == ["Attach an alert to a Kibana case with *Add to case…* on its alert message (on a group message "
                    "it attaches the alerts the message counts)."]  # fmt: skip


async def test_the_same_form_twice_attaches_once_and_an_attached_alert_is_said_to_be(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    wanted = kibana.add_case(title="Database latency")
    message = await alert_message(bot, slack, kibana, es)
    view = await open_attach(driver, slack, message)
    kibana.fault("POST", COMMENTS, latency=0.5)  # the first is still attaching when the second arrives
    chosen = {"case_pick": {"case_pick": wanted["id"]}}
    assert await asyncio.gather(submit(driver, view, chosen), submit(driver, view, chosen)) == [None, None]
    await slack.wait_for(lambda: thread_replies(slack, message))
    await slack.wait_for(lambda: cards(slack, message))
    await asyncio.sleep(0.3)  # nothing more arrives
    assert len(comment_posts(kibana)) == 1 and len(thread_replies(slack, message)) == 1
    assert len(cards(slack, message)) == 1
    kibana.clear_faults()

    again = await open_attach(driver, slack, message)
    assert await submit(driver, again, chosen) is None
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "already" in e["text"]])
    assert told[0].startswith("Alert `host-1` is attached to Kibana case <") and told[0].endswith("already.")
    assert len(comment_posts(kibana)) == 2  # sent; Kibana dropped the duplicate
    assert kibana.case(wanted["id"])["totalAlerts"] == 1 and len(thread_replies(slack, message)) == 1
    assert len(cards(slack, message)) == 1  # nothing was attached: no second card


async def test_the_documented_webhook_body_carries_what_an_alert_attachment_needs(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    """docs/alerts.md's body, rendered as Kibana renders it: `{{alert.uuid}}` is the alert document's `_id`,
    `{{rule.id}}` the rule's: what Kibana's alert attachment names."""
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    doc = es.add_alert(rule_id="r1", instance_id="host-1", rule_name="CPU high")  # Kibana picks the uuid
    uuid = doc["kibana.alert.uuid"]
    variables = AlertVariables(rule_id="r1", rule_name="CPU high", alert_id="host-1", alert_uuid=uuid)
    result = await send(f"{bot.url}/kibana/alerts", WEBHOOK_TOKEN, render_body(FIRING, variables.variables()))
    assert result.status == "ok", result.service_message
    [message] = slack.channel_messages(CHANNEL)
    wanted = kibana.add_case(title="CPU")
    view = await open_attach(driver, slack, message)
    assert await submit(driver, view, {"case_pick": {"case_pick": wanted["id"]}}) is None
    await slack.wait_for(lambda: thread_replies(slack, message))
    [sent] = comment_posts(kibana)
    [stored] = es.alerts.values()
    assert (sent.json["alertId"], sent.json["index"]) == ([uuid], [stored.index])
    assert sent.json["rule"] == {"id": "r1", "name": "CPU high"}


async def test_elasticsearch_refusing_the_alerts_index_is_said_and_nothing_is_attached(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    wanted = kibana.add_case(title="Database latency")
    message = await alert_message(bot, slack, kibana, es)
    view = await open_attach(driver, slack, message)
    es.deny_alerts_read()
    assert await submit(driver, view, {"case_pick": {"case_pick": wanted["id"]}}) is None
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "Elasticsearch" in e["text"]])
    assert told[0].startswith("Finding the alert's document in Elasticsearch failed, so nothing was attached: ")
    assert "read" in told[0] and ".alerts-*" in told[0]  # what the bot's Elasticsearch credentials lack
    assert comment_posts(kibana) == [] and thread_replies(slack, message) == []
    [entry, *_] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result) == ("attach", "error")
