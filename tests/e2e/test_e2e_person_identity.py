"""KIBANA_IDENTITY=person end to end: each person links their own Kibana API key, and every Kibana call
made for them carries it (issue 26). Real signed HTTP against the fake Slack and the fake Kibana."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings
from bot.store import AuditEntry
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.access.connect import KEY_BLOCK
from handlers.cases.actions import CARD_STATUS
from handlers.cases.card import CardValue
from handlers.cases.sync_from_kibana import CaseActivity
from tests.databases import TEST_DATABASE_URL, postgres_schema
from tests.e2e.conftest import KIBANA_KEY, SIGNING_SECRET, forget_start_up, make_settings

ALICE_KEY = base64.b64encode(b"ab12cd34ef:alice-secret-value").decode()
BOB_KEY = base64.b64encode(b"bb99bob0key:bob-secret-value").decode()
CHANNEL = "C0ALERTS"
CONNECT_MODAL = "kibana_connect_modal"


@pytest.fixture
def credentials_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, credentials_key: str) -> Settings:
    return make_settings(kibana, slack, tmp_path, kibana_identity="person", credentials_key=credentials_key)


@pytest.fixture
async def bot(settings: Settings, kibana: FakeKibana) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, mode="http") as running:
        forget_start_up(kibana)
        yield running


async def command(driver: SlackDriver, slack: FakeSlack, text: str, *, user_id: str = "U0ALICE") -> dict[str, Any]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, user_id=user_id, channel_id=CHANNEL))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    body: dict[str, Any] = slack.responses[before].body
    return body


async def open_connect_form(driver: SlackDriver, slack: FakeSlack, *, user_id: str = "U0ALICE") -> dict[str, Any]:
    opened = len(slack.calls_to("views.open"))
    response = await driver.post(driver.slash_command("connect", user_id=user_id, channel_id=CHANNEL))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
    view: dict[str, Any] = slack.views[call.response["view"]["id"]]
    assert view["callback_id"] == CONNECT_MODAL
    return view


async def submit_key(
    driver: SlackDriver, view: dict[str, Any], key: str, *, user_id: str = "U0ALICE"
) -> dict[str, Any] | None:
    response = await driver.post(driver.view_submission(view, {KEY_BLOCK: {"value": key}}, user_id=user_id))
    assert response.status_code == 200
    return response.json() if response.content else None


async def connect(driver: SlackDriver, slack: FakeSlack, key: str, *, user_id: str = "U0ALICE") -> str:
    view = await open_connect_form(driver, slack, user_id=user_id)
    before = len(slack.responses)
    assert await submit_key(driver, view, key, user_id=user_id) is None
    await slack.wait_for(lambda: len(slack.responses) > before)
    text: str = slack.responses[before].body["text"]
    return text


async def audit_entries(bot: RunningBot, action: str, count: int = 1) -> list[AuditEntry]:
    store = bot.runtime.services.store
    for _ in range(100):
        found = [e for e in await store.list_audit(limit=100) if e.action == action]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no audit entry for {action}")


def authorization(kibana: FakeKibana, route: str) -> list[str]:
    return [r.headers.get("authorization", "") for r in kibana.requests if r.route == route]


# --- connect, then act ----------------------------------------------------------------------------


async def test_connect_then_act_as_the_person(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "all", "cases": "all"}})
    said = await connect(driver, slack, ALICE_KEY)
    assert said.startswith("Connected with API key `ab12…`")  # no ELASTICSEARCH_URL: the key's id
    assert authorization(kibana, "/api/status") == [f"ApiKey {ALICE_KEY}"]  # checked with the key itself

    kibana.requests.clear()
    muted_answer = await command(driver, slack, "mute cpu-high host-1")
    assert muted_answer["text"] == "<@U0ALICE> muted alert `host-1` of rule `cpu-high` (in Kibana: API key ab12…)."
    assert authorization(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == [f"ApiKey {ALICE_KEY}"]
    assert all(KIBANA_KEY not in h for r in kibana.requests for h in r.headers.values())

    # the case form, submitted: the case is created by alice in Kibana
    opened = len(slack.calls_to("views.open"))
    await driver.post(driver.slash_command("case Checkout is slow", channel_id=CHANNEL))
    [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
    view = slack.views[call.response["view"]["id"]]
    response = await driver.post(driver.view_submission(view, {}))
    assert response.status_code == 200
    [case] = await slack.wait_for(lambda: list(kibana.state.cases.values()))
    assert case["created_by"]["username"] == "alice"
    assert set(authorization(kibana, "/api/cases")) == {f"ApiKey {ALICE_KEY}"}

    [muted] = await audit_entries(bot, "mute")
    assert (muted.user_id, muted.kibana_identity) == ("U0ALICE", "API key ab12…")
    whoami = await command(driver, slack, "whoami")
    assert "you act with API key `ab12…`" in json.dumps(whoami["blocks"], ensure_ascii=False)


async def test_the_owner_is_learned_from_elasticsearch(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, credentials_key: str
) -> None:
    async with FakeElasticsearch() as es:
        es.add_person(ALICE_KEY, "alice")
        kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "read"}})
        settings = make_settings(
            kibana, slack, tmp_path, kibana_identity="person", credentials_key=credentials_key, elasticsearch_url=es.url
        )
        async with running_bot(settings, mode="http") as running:
            driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=running.events_url, fake_slack=slack)
            said = await connect(driver, slack, ALICE_KEY)
            assert said.startswith("Connected as `alice` (API key `ab12…`)")
            assert ALICE_KEY not in said and "alice-secret" not in said
            [connected] = await audit_entries(running, "connect")
            assert ALICE_KEY not in connected.detail and connected.kibana_identity is None


async def test_a_rejected_key_is_said_in_the_form_and_nothing_is_stored(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    view = await open_connect_form(driver, slack)
    ack = await submit_key(driver, view, ALICE_KEY)  # Kibana does not know it: 401
    assert ack is not None and ack["response_action"] == "errors"
    assert ack["errors"][KEY_BLOCK].startswith("Kibana rejected this key")
    not_a_key = await submit_key(driver, view, "hunter2")
    assert not_a_key is not None and "not an encoded API key" in not_a_key["errors"][KEY_BLOCK]
    assert await bot.runtime.services.store.count_kibana_links() == 0


# --- no silent fallback ---------------------------------------------------------------------------


async def test_an_unlinked_person_is_refused_nothing_called_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    answer = await command(driver, slack, "mute cpu-high host-1", user_id="U0BOB")
    assert "your Kibana account is not connected" in answer["text"]
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [("kibana_connect", "Connect Kibana")]
    assert answer["response_type"] == "ephemeral"
    assert kibana.requests == []  # nothing called, not even with the bot's key
    [refused] = await audit_entries(bot, "mute")
    assert (refused.user_id, refused.result) == ("U0BOB", "refused") and "no Kibana API key" in refused.detail
    # a read too
    await command(driver, slack, "rules", user_id="U0BOB")
    assert kibana.requests == []
    # whoami and help need no key
    whoami = await command(driver, slack, "whoami", user_id="U0BOB")
    assert "your account is not connected" in json.dumps(whoami["blocks"], ensure_ascii=False)
    # the button opens the connect form
    opened = len(slack.calls_to("views.open"))
    message = {"ts": "1700000000.000100", "text": answer["text"], "blocks": answer["blocks"]}
    click = driver.block_action("kibana_connect", message=message, channel_id=CHANNEL, user_id="U0BOB")
    assert (await driver.post(click)).status_code == 200
    [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
    assert slack.views[call.response["view"]["id"]]["callback_id"] == CONNECT_MODAL
    assert kibana.requests == []


async def test_a_key_revoked_mid_session_is_told_privately_and_the_link_goes_stale(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    kibana.add_person(BOB_KEY, "bob", {"*": {"rules": "all"}})
    await connect(driver, slack, ALICE_KEY)
    await connect(driver, slack, BOB_KEY, user_id="U0BOB")
    kibana.revoke(ALICE_KEY)
    answer = await command(driver, slack, "rule cpu-high")
    assert answer["response_type"] == "ephemeral"
    assert "Kibana rejected your API key (`ab12…`, 401)" in answer["text"]
    assert any(b["type"] == "actions" for b in answer["blocks"])  # offered to reconnect
    people = bot.runtime.services.people
    assert people is not None
    link = await people.link_of("T0001", "U0ALICE") or await people.link_of(None, "U0ALICE")
    assert link is not None and link.stale
    # the next request is refused before anything is sent
    kibana.requests.clear()
    again = await command(driver, slack, "rule cpu-high")
    assert "Kibana rejected your linked API key (`ab12…`)" in again["text"] and kibana.requests == []
    whoami = await command(driver, slack, "whoami")
    assert "Kibana rejected your linked API key `ab12…`" in json.dumps(whoami["blocks"], ensure_ascii=False)
    # nobody else is affected
    bobs = await command(driver, slack, "rule cpu-high", user_id="U0BOB")
    assert "cpu-high" in json.dumps(bobs, ensure_ascii=False)
    assert authorization(kibana, "/api/alerting/rule/{id}") == [f"ApiKey {BOB_KEY}"]
    # Alice connects a new key: her link is fresh again
    renewed = base64.b64encode(b"cc77renewed:alice-new-secret").decode()
    kibana.add_person(renewed, "alice", {"*": {"rules": "all"}})
    assert (await connect(driver, slack, renewed)).startswith("Connected with API key `cc77…`")
    kibana.requests.clear()
    await command(driver, slack, "rule cpu-high")
    assert authorization(kibana, "/api/alerting/rule/{id}") == [f"ApiKey {renewed}"]


async def test_a_403_names_the_missing_privilege_in_kibanas_terms(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", space="ops", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"ops": {"rules": "read"}})
    await connect(driver, slack, ALICE_KEY)
    answer = await command(driver, slack, "mute cpu-high host-1 --space ops")
    assert "Kibana refuses this for your account: it needs *Rules: all* in space `ops`" in answer["text"]
    assert "bot's" not in answer["text"]


# --- forged submissions ---------------------------------------------------------------------------


async def test_a_forged_submission_cannot_link_a_key_to_someone_else(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    view = await open_connect_form(driver, slack, user_id="U0ALICE")
    # Mallory submits Alice's form (its metadata sealed by the bot) with her own payload: the link is hers
    assert await submit_key(driver, view, ALICE_KEY, user_id="U0MALLORY") is None
    people = bot.runtime.services.people
    assert people is not None
    for _ in range(100):
        if await bot.runtime.services.store.count_kibana_links():
            break
        await asyncio.sleep(0.05)
    [link] = await bot.runtime.services.store.kibana_links()
    assert link.user_id == "U0MALLORY"
    # metadata naming another person, not sealed by the bot: refused as forged
    forged = {k: v for k, v in view.items() if k != "id"} | {"private_metadata": json.dumps({"u": "U0ALICE"})}
    ack = await submit_key(driver, forged, ALICE_KEY, user_id="U0MALLORY")
    assert ack is not None and ack["response_action"] == "errors" and "not made by the bot" in json.dumps(ack)
    # a payload signed with another secret never reaches the bot's listeners
    payload = driver.view_submission(view, {KEY_BLOCK: {"value": ALICE_KEY}}, user_id="U0ALICE")
    refused = await driver.post(payload, signing_secret="not-the-signing-secret")
    assert refused.status_code == 401
    assert [link.user_id for link in await bot.runtime.services.store.kibana_links()] == ["U0MALLORY"]


async def test_disconnect_forgets_the_key(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    await connect(driver, slack, ALICE_KEY)
    answer = await command(driver, slack, "disconnect")
    assert answer["text"].startswith("Your Kibana API key is forgotten")
    assert await bot.runtime.services.store.count_kibana_links() == 0
    again = await command(driver, slack, "disconnect")
    assert again["text"].startswith("No Kibana API key was linked")


# --- rotation and replicas ------------------------------------------------------------------------


async def test_rotating_the_credentials_key_loses_no_link(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, credentials_key: str
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    new_key = Fernet.generate_key().decode()

    async def act_once(key: str) -> None:
        settings = make_settings(kibana, slack, tmp_path, kibana_identity="person", credentials_key=key)
        async with running_bot(settings, mode="http") as running:
            forget_start_up(kibana)
            driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=running.events_url, fake_slack=slack)
            if key == credentials_key:
                await connect(driver, slack, ALICE_KEY)
                kibana.requests.clear()
            answer = await command(driver, slack, "mute cpu-high host-1")
            assert "muted" in answer["text"], answer
            assert authorization(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == [
                f"ApiKey {ALICE_KEY}"
            ]
            kibana.requests.clear()

    await act_once(credentials_key)
    await act_once(f"{new_key},{credentials_key}")  # rotated: the new key first, the old one kept
    await act_once(new_key)  # the links were re-encrypted under the new key: the old one can go


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
async def test_two_replicas_on_postgresql_share_links(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, credentials_key: str
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    async with postgres_schema("person") as url:
        settings = make_settings(
            kibana, slack, tmp_path, kibana_identity="person", credentials_key=credentials_key, database_url=url
        )
        async with running_bot(settings, mode="http") as one, running_bot(settings, mode="http") as two:
            forget_start_up(kibana)
            on_one = SlackDriver(signing_secret=SIGNING_SECRET, events_url=one.events_url, fake_slack=slack)
            on_two = SlackDriver(signing_secret=SIGNING_SECRET, events_url=two.events_url, fake_slack=slack)
            await connect(on_one, slack, ALICE_KEY)
            kibana.requests.clear()
            answer = await command(on_two, slack, "mute cpu-high host-1")  # at once, on the other replica
            assert "muted" in answer["text"], answer
            assert authorization(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == [
                f"ApiKey {ALICE_KEY}"
            ]
            # a 401 seen by one replica makes the link stale for both
            kibana.revoke(ALICE_KEY)
            await command(on_two, slack, "rule cpu-high")
            kibana.requests.clear()
            again = await command(on_one, slack, "rule cpu-high")
            assert "Kibana rejected your linked API key" in again["text"] and kibana.requests == []
            await command(on_one, slack, "disconnect")
            refused = await command(on_two, slack, "rule cpu-high")
            assert "your Kibana account is not connected" in refused["text"]


async def test_a_button_acts_with_the_persons_key_and_its_receipt_says_so(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    await connect(driver, slack, ALICE_KEY)
    card = await command(driver, slack, "rule cpu-high")
    message = {"ts": "1700000000.000300", "text": card["text"], "blocks": card["blocks"]}
    kibana.requests.clear()
    before = len(slack.responses)
    click = driver.block_action("rule_mute_all", message=message, channel_id=CHANNEL, is_ephemeral=True)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert authorization(kibana, "/api/alerting/rule/{id}/_mute_all") == [f"ApiKey {ALICE_KEY}"]
    said = " ".join(str(r.body.get("text")) for r in slack.responses[before:])
    assert "muted all alerts" in said and "(in Kibana: API key ab12…)" in said
    # Bob (responder, unlinked) clicks the same button: the bot's policy answers first; nothing is sent
    kibana.requests.clear()
    before = len(slack.responses)
    click = driver.block_action(
        "rule_mute_all", message=message, channel_id=CHANNEL, user_id="U0BOB", is_ephemeral=True
    )
    assert (await driver.post(click)).status_code == 200
    [refusal] = await slack.wait_for(
        lambda: [r for r in slack.responses[before:] if "You need the *operator* role" in str(r.body.get("text"))]
    )
    assert refusal.body["response_type"] == "ephemeral"
    assert kibana.requests == []


async def test_apm_agent_keys_are_not_asked_with_a_persons_api_key(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_person(ALICE_KEY, "alice", {"*": {"apm": "all"}})
    await connect(driver, slack, ALICE_KEY)
    kibana.requests.clear()
    answer = await command(driver, slack, "apm key create ingest event:write")
    assert answer["text"].startswith("Kibana cannot create an agent key with your linked API key")
    assert kibana.requests == []  # neither with the person's key, nor with the bot's agent-key user


async def test_over_socket_mode_connect_then_act(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, credentials_key: str
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    settings = make_settings(
        kibana,
        slack,
        tmp_path,
        kibana_identity="person",
        credentials_key=credentials_key,
        slack_app_token=slack.app_token,
        slack_signing_secret=None,
    )
    async with running_bot(settings, mode="socket"):
        await slack.wait_for(lambda: slack.connected.is_set())
        forget_start_up(kibana)
        socket = SlackDriver(signing_secret=SIGNING_SECRET, fake_slack=slack)
        opened = len(slack.calls_to("views.open"))
        await socket.send_socket(socket.slash_command("connect", channel_id=CHANNEL))
        [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
        view = slack.views[call.response["view"]["id"]]
        ack = await socket.send_socket(socket.view_submission(view, {KEY_BLOCK: {"value": ALICE_KEY}}))
        assert not ack.get("payload")  # accepted: the form closes
        await slack.wait_for(lambda: any("Connected with" in str(r.body.get("text")) for r in slack.responses))
        kibana.requests.clear()
        await socket.send_socket(socket.slash_command("mute cpu-high host-1", channel_id=CHANNEL))
        await slack.wait_for(lambda: kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"))
        assert authorization(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == [f"ApiKey {ALICE_KEY}"]


async def test_health_on_demand_is_said_in_kibanas_terms_for_the_person(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "read"}})
    await connect(driver, slack, ALICE_KEY)
    kibana.requests.clear()
    ok = await command(driver, slack, "health")
    assert "bot's" not in ok["text"] and authorization(kibana, "/api/alerting/_health") == [f"ApiKey {ALICE_KEY}"]
    refused = await command(driver, slack, "health --space ops")
    assert refused["text"].startswith("Kibana refuses this for your account: it needs *Rules: read* in space `ops`")
    kibana.revoke(ALICE_KEY)
    rejected = await command(driver, slack, "health")
    assert rejected["text"].startswith("Kibana rejected your API key (`ab12…`, 401)")
    assert any(b["type"] == "actions" for b in rejected["blocks"])  # offered to reconnect


async def test_a_workflow_step_acts_with_the_persons_key_and_never_the_bots(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="cpu-high", active_alerts=["host-1"])
    step = driver.function_executed("kibana_mute_alert", {"rule_id": "cpu-high", "alert_id": "host-1"}, run_by="U0BOB")
    assert (await driver.post(step)).status_code == 200
    bob = slack.functions.executions[step["event"]["function_execution_id"]]
    await slack.wait_for(lambda: bob.state != "running")
    assert bob.state == "failed" and "your Kibana account is not connected" in (bob.error or "")
    assert kibana.requests == []  # no silent fallback to the bot's key
    [refused] = await audit_entries(bot, "mute")
    assert (refused.user_id, refused.result) == ("U0BOB", "refused")

    kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "all", "cases": "all"}})
    await connect(driver, slack, ALICE_KEY)
    kibana.requests.clear()
    step = driver.function_executed("kibana_mute_alert", {"rule_id": "cpu-high", "alert_id": "host-1"})
    assert (await driver.post(step)).status_code == 200
    alice = slack.functions.executions[step["event"]["function_execution_id"]]
    await slack.wait_for(lambda: alice.state != "running")
    assert alice.state == "completed", alice.error
    assert authorization(kibana, "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == [f"ApiKey {ALICE_KEY}"]


async def test_the_case_card_acts_with_the_persons_key_and_is_not_echoed_back(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    """Issue 28: the card's status change is made with the person's key; reading the case's activity (the
    bot's own work, with its own key) does not tell the thread what the person just did from Slack."""
    kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "all", "cases": "all"}})
    await connect(driver, slack, ALICE_KEY)
    message = slack.post_as_user(CHANNEL, "Checkout is slow", user="U0BOB")
    updates = len(slack.calls_to("views.update"))
    await driver.post(driver.message_shortcut("open_case", message, channel_id=CHANNEL))
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    assert (await driver.post(driver.view_submission(slack.views[call.params["view_id"]], {}))).status_code == 200

    def card() -> dict[str, Any] | None:
        found = [m for m in slack.thread(CHANNEL, message["ts"]) if "case_card" in str(m.get("blocks"))]
        return found[-1] if found else None

    shown = await slack.wait_for(card)
    [(_, case_id)] = list(kibana.state.cases)
    link_id = CardValue.unpack(str(shown["blocks"][1]["elements"][0]["options"][0]["value"])).link
    kibana.requests.clear()
    closing = CardValue(link=link_id, to="closed").pack()
    await driver.post(driver.block_action(CARD_STATUS, closing, message=shown, channel_id=CHANNEL))
    await slack.wait_for(
        lambda: any("set the case's status" in str(m.get("text")) for m in slack.thread(CHANNEL, message["ts"]))
    )
    assert authorization(kibana, "/api/cases") == [f"ApiKey {ALICE_KEY}"]  # the PATCH, as alice
    assert kibana.state.cases[("default", case_id)]["closed_by"]["username"] == "alice"
    before = len(slack.thread(CHANNEL, message["ts"]))
    assert await bot.runtime.part(CaseActivity).read_all() == 0  # alice's change from Slack is not echoed
    assert len(slack.thread(CHANNEL, message["ts"])) == before
    assert set(authorization(kibana, "/api/cases/{caseId}/user_actions/_find")) == {f"ApiKey {KIBANA_KEY}"}
