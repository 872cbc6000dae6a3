"""Issue 14, end to end: the bot against the fake playing Kibana 8.15, 8.19, 9.0 and 9.3, with other
licences and credential kinds. Each test asserts what Kibana received and what the user saw.

(The answers of a Kibana without Fleet or with the source-map API off, and the bare 404 of a missing
route, are not in Kibana's OpenAPI description, so these tests do not run the APM contract check.)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import Settings
from devkit.fake_kibana import Exchange, FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .conftest import KIBANA_KEY, SIGNING_SECRET, forget_start_up, make_settings
from .test_e2e_alerts_webhook import BODY, action_ids, all_text, deliver
from .test_e2e_cases_failures import (
    CHANNEL,
    CREATE,
    FIND,
    TEXT,
    announced,
    impatient,  # noqa: F401 - fixture
    impatient_bot,  # noqa: F401 - fixture
    open_form,
    submit,
    told,
)

VERSIONS = ["8.15.0", "8.19.0", "9.0.0", "9.3.0"]
HAS_SNOOZE = {"8.15.0": False, "8.19.0": True, "9.0.0": False, "9.3.0": True}
SNOOZE_ROUTE = "/api/alerting/rule/{id}/snooze_schedule"
UNSNOOZE_ROUTE = "/api/alerting/rule/{ruleId}/snooze_schedule/{scheduleId}"
BARE_404 = {"statusCode": 404, "error": "Not Found", "message": "Not Found"}


@pytest.fixture
async def kibana(request: pytest.FixtureRequest) -> AsyncIterator[FakeKibana]:
    """The fake playing `(version, licence)` (parametrize with indirect=True); 9.3.0/platinum by default."""
    version, licence = getattr(request, "param", ("9.3.0", "platinum"))
    async with FakeKibana(api_keys=(KIBANA_KEY,), version=version, license=licence) as fake:
        yield fake


def on(*versions: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("kibana", [(v, "platinum") for v in versions], indirect=True, ids=list(versions))


async def run(driver: SlackDriver, slack: FakeSlack, text: str) -> dict[str, Any]:
    """`/kibana text`; the one response_url answer it caused."""
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + 1)
    return slack.responses[before].body


def exchanges(kibana: FakeKibana, route: str, method: str | None = None) -> list[Exchange]:
    return [e for e in kibana.exchanges if e.request.route == route and method in (None, e.request.method)]


def answer_of(exchange: Exchange) -> Any:
    return json.loads(exchange.body) if exchange.body else None


def blocks_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks", []), ensure_ascii=False)


# --- 1, 2: the Snooze menu and the snooze API by version ---------------------------------------------


@on(*VERSIONS)
async def test_snooze_on_each_version(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    version = kibana.version
    kibana.add_rule(id="r1", name="CPU high")

    card = await run(driver, slack, "rule r1")
    assert ("rule_snooze" in blocks_text(card)) is HAS_SNOOZE[version]  # no Snooze menu without the API

    answer = await run(driver, slack, "snooze r1 4h")
    [sent] = exchanges(kibana, SNOOZE_ROUTE, "POST")
    assert sent.request.path == "/api/alerting/rule/r1/snooze_schedule"
    assert sent.request.json["schedule"]["custom"]["duration"] == "4h"
    if not HAS_SNOOZE[version]:
        assert (sent.status, answer_of(sent)) == (404, BARE_404)  # the router has no such route
        assert answer["response_type"] == "ephemeral"
        assert answer["text"].startswith(f"This Kibana ({version}) has no snooze API")
        assert "`/kibana mute-all r1`" in answer["text"] and "`/kibana disable r1`" in answer["text"]
        assert "not found" not in answer["text"]
        return
    assert sent.status == 200
    schedule_id = answer_of(sent)["schedule"]["id"]
    assert answer["text"] == f"<@U0ALICE> snoozed rule `r1` for 4h (schedule `{schedule_id}`)."

    card = await run(driver, slack, "rule r1")  # Kibana's public rule API does not say; the bot knows
    [got] = exchanges(kibana, "/api/alerting/rule/{id}", "GET")[-1:]
    assert "is_snoozed_until" not in answer_of(got)
    assert "snoozed until" in blocks_text(card) and schedule_id in blocks_text(card)

    answer = await run(driver, slack, "unsnooze r1")
    [deleted] = exchanges(kibana, UNSNOOZE_ROUTE)
    assert deleted.request.path == f"/api/alerting/rule/r1/snooze_schedule/{schedule_id}" and deleted.status == 204
    assert answer["text"] == "<@U0ALICE> cancelled the snooze of rule `r1`."
    assert kibana.stored_rule("r1").snoozes == []


# --- 3: unsnooze cancels what the bot knows and what Kibana reports; stale ones are forgotten -------


@on("8.19.0", "9.3.0")
async def test_unsnooze_cancels_known_and_reported_schedules_and_forgets_stale_ones(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1")
    await run(driver, slack, "snooze r1 1h")
    [mine] = [answer_of(e)["schedule"]["id"] for e in exchanges(kibana, SNOOZE_ROUTE, "POST")]
    kibana.stored_rule("r1").snoozes.clear()  # someone cancelled it in Kibana meanwhile
    async with httpx.AsyncClient(base_url=kibana.url, headers={"Authorization": f"ApiKey {KIBANA_KEY}"}) as direct:
        made = await direct.post(  # someone snoozed it in Kibana itself
            "/api/alerting/rule/r1/snooze_schedule",
            headers={"kbn-xsrf": "x"},
            json={"schedule": {"custom": {"start": "2030-01-01T00:00:00.000Z", "duration": "1d"}}},
        )
    theirs = made.json()["schedule"]["id"]

    answer = await run(driver, slack, "unsnooze r1")

    deletes = {e.request.path.rsplit("/", 1)[1]: (e.status, answer_of(e)) for e in exchanges(kibana, UNSNOOZE_ROUTE)}
    gone = {"statusCode": 400, "error": "Bad Request", "message": f"Rule has no snooze schedule with id {mine}."}
    assert deletes[mine] == (400, gone)
    if kibana.version == "9.3.0":  # 9.3 reports snooze_schedule in the public rule API: that one is cancelled too
        assert deletes[theirs] == (204, None)
        assert answer["text"] == "<@U0ALICE> cancelled the snooze of rule `r1`."
        assert kibana.stored_rule("r1").snoozes == []
    else:  # 8.19 reports nothing, and the bot's own schedule was already gone: nothing to cancel
        assert theirs not in deletes
        assert (
            answer["response_type"] == "ephemeral"
            and "no snooze schedule to cancel that the bot knows of" in answer["text"]
        )
    assert await bot.runtime.services.store.known_snoozes(space="default", rule_id="r1") == []  # forgotten quietly


# --- 2: the alert message's Snooze menu --------------------------------------------------------------


@on(*VERSIONS)
async def test_alert_messages_offer_snooze_only_where_kibana_has_it(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    response = await deliver(bot, BODY)
    assert response.status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert ("rule_snooze" in action_ids(message)) is HAS_SNOOZE[kibana.version]
    assert {"alert_mute", "rule_mute_all", "rule_disable"} <= action_ids(message)


# --- 5: muting an alert Kibana does not know --------------------------------------------------------


@on(*VERSIONS)
async def test_muting_an_alert_kibana_has_no_record_of(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    answer = await run(driver, slack, "mute r1 ghost")
    [sent] = exchanges(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute")
    assert sent.request.path == "/api/alerting/rule/r1/alert/ghost/_mute" and sent.request.query == {}
    if kibana.version != "9.3.0":  # before 9.3 Kibana accepts any alert id
        assert sent.status == 204 and kibana.rule("r1")["muted_alert_ids"] == ["ghost"]
        assert answer["text"] == "<@U0ALICE> muted alert `ghost` of rule `r1`."
        return
    assert (sent.status, answer_of(sent)["message"]) == (
        404,
        'Alert instance with id "ghost" does not exist for rule with id "r1"',
    )
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Kibana has no alert `ghost` of rule `r1` in space `default`, so it was not muted")
    assert "`/kibana mute-all r1`" in answer["text"] and "`/kibana snooze r1 4h`" in answer["text"]
    assert "Rule `r1` was not found" not in answer["text"]


# --- 4: APM agent keys and API keys ------------------------------------------------------------------


async def test_agent_key_with_an_api_key_and_no_user_is_explained_privately(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    answer = await run(driver, slack, "apm key create ci-key event:write")
    assert exchanges(kibana, "/api/apm/agent_keys") == []  # Elasticsearch would refuse it: not asked
    assert answer["response_type"] == "ephemeral"
    assert "`KIBANA_AGENT_KEY_USERNAME` and `KIBANA_AGENT_KEY_PASSWORD`" in answer["text"]
    assert "Nothing was created" in answer["text"]
    assert not [m for m in slack.channel_messages("C0ALERTS") if "agent key" in m.get("text", "")]


async def test_the_fake_refuses_agent_keys_to_an_api_key(kibana: FakeKibana) -> None:
    async with httpx.AsyncClient(base_url=kibana.url) as direct:
        refused = await direct.post(
            "/api/apm/agent_keys",
            headers={"Authorization": f"ApiKey {KIBANA_KEY}", "kbn-xsrf": "x", "elastic-api-version": "2023-10-31"},
            json={"name": "k", "privileges": ["event:write"]},
        )
    assert refused.status_code == 400 and refused.json()["message"] == (
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
    )


@pytest.fixture
def basic_settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(
        kibana, slack, tmp_path, kibana_api_key=None, kibana_username="elastic", kibana_password="changeme"
    )


async def test_agent_key_with_basic_bot_credentials_needs_nothing_more(
    basic_settings: Settings, slack: FakeSlack, kibana: FakeKibana
) -> None:
    async with running_bot(basic_settings) as running:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=running.events_url, fake_slack=slack)
        before = len(slack.responses)
        await driver.post(driver.slash_command("apm key create ci-key event:write"))
        await slack.wait_for(lambda: len(slack.responses) >= before + 2)
    [sent] = exchanges(kibana, "/api/apm/agent_keys")
    assert sent.status == 200 and sent.request.headers["authorization"].startswith("Basic ")
    [key] = kibana.agent_keys
    assert any(
        key["encoded"] in r.body.get("text", "") for r in slack.responses if r.body["response_type"] == "ephemeral"
    )


# --- 7: what Kibana's Webhook connector really renders ------------------------------------------------


async def test_index_threshold_alerts_show_the_message_when_the_reason_is_empty(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    body = {**BODY, "reason": "", "message": "avg of system.cpu.total.norm.pct is 0.97, above 0.9", "state": "active"}
    assert (await deliver(bot, body)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert "avg of system.cpu.total.norm.pct is 0.97, above 0.9" in all_text(message)
    assert "Kibana gave no reason" not in all_text(message)


async def test_state_wins_over_a_rule_types_own_recovery_group(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    assert (await deliver(bot, {**BODY, "state": "active"})).status_code == 200
    recovered = {**BODY, "action_group": "custom_recovered", "state": "recovered"}
    answer = await deliver(bot, recovered)
    assert answer.status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert "Recovered" in all_text(message) and "alert_mute" not in action_ids(message)
    # and a body whose state says active is not a recovery, whatever the group is called
    assert (
        await deliver(
            bot, {**BODY, "alert_id": "host-2", "alert_uuid": "u-2", "action_group": "recovered", "state": "active"}
        )
    ).status_code == 200
    fresh = [m for m in slack.channel_messages("C0ALERTS") if "host-2" in all_text(m)]
    assert fresh and "alert_mute" in action_ids(fresh[0])
    assert (await deliver(bot, {**BODY, "state": "sleeping"})).json()["field"] == "state"


async def test_summary_actions_post_a_rule_level_message(bot: RunningBot, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1", "host-2"])
    summary = {**BODY, "alert_id": "r1", "alert_uuid": "r1", "action_group": "default", "reason": ""}
    assert (await deliver(bot, summary)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert "alert_mute" not in action_ids(message) and "alert_unmute" not in action_ids(message)
    assert {"rule_mute_all", "rule_disable", "rule_snooze"} <= action_ids(message)
    assert "all alerts of the rule (a summary)" in all_text(message)


async def test_tags_rendered_as_json_keep_their_commas(bot: RunningBot, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    kibana.add_rule(id="r2", active_alerts=["host-2"])
    # "tags":"{{rule.tags.asJSON}}" renders a JSON list, JSON-escaped inside the quotes
    raw = json.dumps({**BODY, "tags": json.dumps(["prod", "db,eu"])}).encode()
    assert (await deliver(bot, raw)).status_code == 200
    assert (
        await deliver(bot, {**BODY, "rule_id": "r2", "alert_id": "host-2", "alert_uuid": "u-2", "tags": "prod,db"})
    ).status_code == 200
    first, second = slack.channel_messages("C0ALERTS")
    assert "`db,eu`" in all_text(first) and "`prod`" in all_text(first)
    assert "`db`" in all_text(second) and "`prod`" in all_text(second)


# --- 8: cases and refresh=false --------------------------------------------------------------------


async def test_a_case_that_reaches_find_late_is_found_not_duplicated(
    impatient: SlackDriver,  # noqa: F811 - the fixture imported above
    slack: FakeSlack,
    kibana: FakeKibana,
) -> None:
    kibana.state.case_visibility_delay = 1.5  # refresh=false: _find sees a new case 1.5 s after it is made
    kibana.fault("POST", CREATE, latency=1.1, times=1)  # the bot gives up at 1 s; Kibana creates it at 1.1 s
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(impatient, slack, message)
    assert await submit(impatient, view) is None
    [reply] = await slack.wait_for(lambda: announced(slack, message), timeout=10)
    [case] = kibana.state.cases.values()
    assert case["id"] in reply["text"] and kibana.count("POST", CREATE) == 1
    after = [answer_of(e)["total"] for e in exchanges(kibana, FIND)][1:]  # the look-ups after the timeout
    assert after[0] == 0 and after[-1] == 1 and len(after) >= 2  # a single look-up would have missed it
    assert told(slack, "did not answer") == []


# --- 9: required custom fields ---------------------------------------------------------------------


async def test_required_custom_fields_are_shown_in_the_form_naming_their_keys(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.state.required_custom_fields = {"team": "Team", "ticket": "Ticket id"}
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    answer = await submit(driver, view)
    [read] = exchanges(kibana, "/api/cases/configure")
    assert read.request.query == {"owner": "cases"} and read.status == 200
    assert answer["response_action"] == "errors"
    [shown] = answer["errors"].values()
    assert "require custom fields without a default value: `team` (Team), `ticket` (Ticket id)" in shown
    assert exchanges(kibana, CREATE, "POST") == [] and kibana.state.cases == {}  # the form stays open


async def test_required_custom_fields_kibana_refuses_are_named_privately(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    """When the case settings cannot be read first, Kibana's own 400 at creation is explained."""
    kibana.state.required_custom_fields = {"team": "Team", "ticket": "Ticket id"}
    kibana.fault("GET", "/api/cases/configure", status=503, times=5)
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    assert await submit(driver, view) is None
    [sentence] = await slack.wait_for(lambda: told(slack, "require custom fields"), timeout=8)
    [sent] = exchanges(kibana, CREATE, "POST")
    assert (sent.status, answer_of(sent)["message"]) == (
        400,
        'Missing required custom fields without default value configured: "Team", "Ticket id"',
    )
    assert "(`Team`, `Ticket id`)" in sentence and "Cases → Settings" in sentence
    assert kibana.state.cases == {}


# --- 10: APM without Fleet, or with the source-map API off ---------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "why"),
    [("no-fleet", 200, "Fleet is not set up"), ("disabled", 501, "switched off"), ("absent", 404, "no such route")],
)
async def test_source_maps_without_the_api_say_why(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, mode: str, status: int, why: str
) -> None:
    kibana.state.sourcemaps_mode = mode
    answer = await run(driver, slack, "apm sourcemaps")
    [sent] = exchanges(kibana, "/api/apm/sourcemaps", "GET")
    assert sent.status == status and (sent.body == b"") is (mode == "no-fleet")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("The APM source-map API is not available on this Kibana") and why in answer["text"]
    assert "could not read" not in answer["text"]
