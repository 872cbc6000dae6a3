"""Unfurled Kibana links end to end: a link to KIBANA_PUBLIC_URL's host shared in a channel (Slack's
`link_shared`, signed over HTTP and as a Socket Mode envelope) becomes a card (`chat.unfurl`) with the
facts and buttons its message would have: a rule, a case, an alert the bot was told of. Everyone in
the conversation sees an unfurl, so a link to a space one of the channel's members may not see
unfurls into nothing at all, and neither does a channel whose members cannot be read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.models.blocks import Block

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .conftest import SIGNING_SECRET, WEBHOOK_TOKEN, forget_start_up, make_settings

BASE = "https://kibana.example.com"
RULE_PAGE = "/app/management/insightsAndAlerting/triggersActions/rule"
CHANNEL = "C0ALERTS"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB0001", "U0CAROL01"

# Alice is an admin everywhere; everyone else is a viewer in the default space only, but for Bob, who
# may also see `ops`.
POLICY = """
default_role = "viewer"
default_spaces = ["default"]

[[grants]]
role = "admin"
users = ["U0ALICE"]

[[grants]]
role = "viewer"
users = ["U0BOB0001"]
spaces = ["ops"]
"""


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    policy = tmp_path / "unfurl-policy.toml"
    policy.write_text(POLICY)
    return make_settings(kibana, slack, tmp_path, access_policy=policy)


@pytest.fixture
async def socket_bot(kibana: FakeKibana, slack: FakeSlack, settings: Settings) -> AsyncIterator[RunningBot]:
    socket = settings.model_copy(update={"slack_app_token": settings.slack_bot_token.__class__(slack.app_token)})
    socket = socket.model_copy(update={"slack_signing_secret": None})
    async with running_bot(socket, mode="socket") as running:
        await slack.wait_for(lambda: slack.connected.is_set())
        forget_start_up(kibana)
        yield running


def people(slack: FakeSlack, *users: str) -> None:
    for user in (BOB, CAROL):
        if user not in slack.users:
            slack.add_user(user, user.lower())
    slack.set_members(CHANNEL, list(users))


def valid_cards(unfurls: dict[str, dict[str, Any]]) -> None:
    for unfurl in unfurls.values():
        assert 0 < len(unfurl["blocks"]) <= 50
        for block in unfurl["blocks"]:
            parsed = Block.parse(block)
            assert parsed is not None
            parsed.validate_json()  # slack_sdk's Block Kit models


async def share(driver: SlackDriver, slack: FakeSlack, text: str, *, socket: bool = False, **kw: Any) -> str:
    payload = driver.link_shared(text, **kw)
    if socket:
        assert (await driver.send_socket(payload))["envelope_id"]
    else:
        assert (await driver.post(payload)).status_code == 200
    return str(payload["event"]["unfurl_id"])


async def settled(bot: RunningBot, slack: FakeSlack, members_read: int) -> None:
    """Wait until the bot has finished what the event started (it runs after Slack's ack): it asked
    Slack who is in the channel for the `members_read`th time, then finished."""
    await slack.wait_for("conversations.members", count=members_read)
    services = bot.runtime.services
    for _ in range(500):
        if not [t for t in services.inflight if not t.done()]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the bot was still busy with the event")


async def test_a_rule_link_unfurls_into_the_rule_card(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"], tags=["prod"])
    people(slack, ALICE, BOB, CAROL)
    unfurl_id = await share(driver, slack, f"look at {BASE}{RULE_PAGE}/r1 please")
    await slack.wait_for("chat.unfurl")
    unfurls = slack.unfurls_of(unfurl_id)
    valid_cards(unfurls)
    [(url, card)] = unfurls.items()
    assert url == f"{BASE}{RULE_PAGE}/r1"
    text = json.dumps(card)
    assert "CPU high" in text and "1 active alert" in text and "`prod`" in text
    ids = {e.get("action_id") for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {"rule_mute_all", "rule_disable", "rule_snooze", "rule_link"} <= ids  # the rule card's buttons
    [message] = [m for m in slack.channel_messages(CHANNEL) if "look at" in m["text"]]
    assert message["attachments"][0]["app_unfurl_url"] == url  # Slack shows it under the message


async def test_a_case_link_unfurls_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    case = kibana.add_case(title="Checkout <b>slow</b>", tags=["checkout"], severity="high", owner="securitySolution")
    people(slack, ALICE, CAROL)
    link = f"{BASE}/app/security/cases/{case['id']}"
    unfurl_id = await share(socket_driver, slack, f"case: {link}", socket=True)
    await slack.wait_for("chat.unfurl")
    unfurls = slack.unfurls_of(unfurl_id)
    valid_cards(unfurls)
    text = json.dumps(unfurls[link])
    assert "Case: Checkout <b>slow</b>" in text  # a header is plain text: shown as written, never markup
    assert "high" in text and "`checkout`" in text and "securitySolution" in text
    assert f"/app/security/cases/{case['id']}" in text  # its Open in Kibana button


async def test_an_alert_link_unfurls_with_the_alerts_buttons(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    body = {
        "rule_id": "r1",
        "rule_name": "CPU high",
        "space_id": "default",
        "alert_id": "host-1",
        "alert_uuid": "8f0c2a4e-1111-4c3b-9d1e-000000000001",
        "action_group": "threshold met",
        "reason": "CPU 97%",
        "rule_url": f"{BASE}{RULE_PAGE}/r1",
        "date": "2025-03-04T10:42:07.123Z",
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.post(
            f"{bot.url}/kibana/alerts", json=body, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
        )
    assert answer.status_code in (200, 202)
    await slack.wait_for(lambda: slack.channel_messages(CHANNEL))
    people(slack, ALICE)
    link = f"{BASE}/app/observability/alerts/{body['alert_uuid']}"
    unfurl_id = await share(driver, slack, link)
    await slack.wait_for("chat.unfurl")
    unfurls = slack.unfurls_of(unfurl_id)
    valid_cards(unfurls)
    text = json.dumps(unfurls[link])
    assert "Alert `host-1` of *CPU high*" in text
    ids = {e.get("action_id") for b in unfurls[link]["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {"alert_mute", "case_open", "rule_mute_all"} <= ids


async def test_an_alert_link_unfurls_with_its_messages_facts_and_who_is_on_it(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    uuid = "8f0c2a4e-1111-4c3b-9d1e-000000000002"
    body = {
        "rule_id": "r1",
        "rule_name": "CPU high",
        "space_id": "default",
        "alert_id": "host-1",
        "alert_uuid": uuid,
        "action_group": "threshold met",
        "reason": "CPU 97%",
        "date": "2025-03-04T10:42:07.123Z",
        "flapping": "true",
        "value": "0.97",
        "alert_url": f"/app/observability/alerts/{uuid}",
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.post(
            f"{bot.url}/kibana/alerts", json=body, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
        )
    assert answer.status_code in (200, 202)
    [message] = await slack.wait_for(lambda: slack.channel_messages(CHANNEL))
    facts = [b for b in message["blocks"] if b.get("block_id") == "alert_facts"]
    assert facts  # the alert message shows them: the card must show the same line
    claim = next(
        e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "alert_claim"
    )
    click = driver.block_action("alert_claim", claim["value"], message=message, user_id=ALICE)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: await_claimed(slack, message["ts"]))

    people(slack, ALICE)
    link = f"{BASE}/app/observability/alerts/{uuid}"
    unfurl_id = await share(driver, slack, link)
    await slack.wait_for("chat.unfurl")
    unfurls = slack.unfurls_of(unfurl_id)
    valid_cards(unfurls)
    blocks = unfurls[link]["blocks"]
    [card_facts] = [b for b in blocks if b.get("block_id") == "alert_facts"]
    texts = [e["text"] for e in card_facts["elements"]]
    assert texts == [e["text"] for e in facts[0]["elements"]]  # the same facts line, word for word
    assert texts[0] == ":bar_chart: Value `0.97`" and "Open the alert in Kibana" in texts[-1]
    [claimed] = [b for b in blocks if b.get("block_id") == "alert_claimed"]
    assert claimed["elements"][0]["text"].startswith(":raising_hand: <@U0ALICE> is on it since ")
    ids = {e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert "alert_claim" not in ids  # the claim is the message's: its buttons stay there
    assert {"alert_mute", "case_open"} <= ids


def await_claimed(slack: FakeSlack, ts: str) -> bool:
    shown = slack.message(CHANNEL, ts)
    return shown is not None and any(b.get("block_id") == "alert_claimed" for b in shown["blocks"])


async def test_a_space_one_member_may_not_see_unfurls_into_nothing(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r9", name="Payments down", space="ops")
    link = f"{BASE}/s/ops{RULE_PAGE}/r9"
    people(slack, ALICE, BOB, CAROL)  # Carol may not see `ops`
    await share(driver, slack, f"see {link}")
    await settled(bot, slack, 1)
    assert slack.calls_to("chat.unfurl") == []
    assert not [r for r in kibana.requests if r.route.startswith("/api/alerting")]  # nothing read for it

    people(slack, ALICE, BOB)  # everyone here may see `ops`
    unfurl_id = await share(driver, slack, f"again {link}")
    await slack.wait_for("chat.unfurl")
    assert "Payments down" in json.dumps(slack.unfurls_of(unfurl_id))


async def test_no_unfurl_when_the_members_cannot_be_read_or_the_link_is_no_kibana_page(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    people(slack, ALICE)
    slack.revoke_scopes("channels:read")  # conversations.members: missing_scope
    await share(driver, slack, f"{BASE}{RULE_PAGE}/r1")
    await settled(bot, slack, 1)
    slack.grant_scopes("channels:read")
    await share(driver, slack, f"{BASE}/app/discover#/view/abc")  # a Kibana page, but no rule, case or alert
    await share(driver, slack, f"{BASE}{RULE_PAGE}/missing-rule")  # Kibana has no such rule
    await settled(bot, slack, 2)
    assert slack.calls_to("chat.unfurl") == []
    assert slack.calls_to("conversations.members")[0].response.get("error") == "missing_scope"


async def test_a_link_being_typed_unfurls_for_its_writer(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    people(slack, ALICE, CAROL)
    unfurl_id = await share(driver, slack, f"{BASE}{RULE_PAGE}/r1", composer=True)
    [call] = await slack.wait_for("chat.unfurl")
    assert call.params["source"] == "composer" and call.params["unfurl_id"] == unfurl_id
    assert "CPU high" in json.dumps(slack.unfurls_of(unfurl_id))
    assert slack.calls_to("conversations.members") == []  # only the writer sees it


async def test_the_fake_refuses_an_unfurl_of_a_link_not_shared() -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async with FakeSlack() as fake:
        event = fake.share_links(CHANNEL, f"{BASE}{RULE_PAGE}/r1")
        assert event is not None and event["links"] == [
            {"domain": "kibana.example.com", "url": f"{BASE}{RULE_PAGE}/r1"}
        ]
        assert fake.share_links(CHANNEL, "https://elsewhere.example.org/x") is None  # not an unfurl domain
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as refused:
            await client.chat_unfurl(channel=CHANNEL, ts=event["message_ts"], unfurls={f"{BASE}/other": {"blocks": []}})
        assert refused.value.response["error"] == "cannot_unfurl_url"
        fake.revoke_scopes("links:write")
        with pytest.raises(SlackApiError) as refused:
            await client.chat_unfurl(channel=CHANNEL, ts=event["message_ts"], unfurls={})
        assert refused.value.response["error"] == "missing_scope"


async def test_a_button_in_the_unfurled_card_acts_like_the_rule_cards(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    people(slack, ALICE, BOB)
    await share(driver, slack, f"{BASE}{RULE_PAGE}/r1", user_id=BOB)
    await slack.wait_for("chat.unfurl")
    [message] = [m for m in slack.channel_messages(CHANNEL) if m.get("attachments")]
    value = '{"r":"r1","s":"default"}'

    # Bob (a viewer) sees the card, but its buttons check his role like any other click.
    click = driver.block_action("rule_mute_all", value, message=message, user_id=BOB)
    assert click["container"]["type"] == "message_attachment" and click["container"]["is_app_unfurl"]
    assert (await driver.post(click)).status_code == 200
    refusal = "You need the *operator* role in Kibana space `default` to mute all alerts"
    await slack.wait_for(lambda: any(refusal in json.dumps(r.body) for r in slack.responses))

    # Alice (an admin) mutes all alerts from the card; audited as hers.
    assert (await driver.post(driver.block_action("rule_mute_all", value, message=message))).status_code == 200
    await slack.wait_for(lambda: kibana.count("POST", "/api/alerting/rule/{id}/_mute_all") == 1)
    store = bot.runtime.services.store
    entries = []
    for _ in range(200):
        entries = await store.audit_of_actions(["mute-all"], user_id=ALICE)
        if entries:
            break
        await asyncio.sleep(0.02)
    assert entries and entries[0].target == "r1"
    assert kibana.count("POST", "/api/alerting/rule/{id}/_mute_all") == 1


async def test_work_objects_beside_the_cards_when_turned_on(
    kibana: FakeKibana, slack: FakeSlack, settings: Settings
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    case = kibana.add_case(title="Checkout slow", severity="critical", status="in-progress")
    people(slack, ALICE, BOB)
    async with running_bot(settings.model_copy(update={"slack_work_objects": True}), mode="http") as running:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=running.events_url, fake_slack=slack)
        rule_link, case_link = f"{BASE}{RULE_PAGE}/r1", f"{BASE}/app/management/insightsAndAlerting/cases/{case['id']}"
        unfurl_id = await share(driver, slack, f"{rule_link} and {case_link}")
        await slack.wait_for("chat.unfurl")
    entities = slack.work_objects_of(unfurl_id)  # the fake checked them with slack_sdk's Work Object models
    assert set(slack.unfurls_of(unfurl_id)) == set(entities) == {rule_link, case_link}  # and the classic cards
    rule, case_entity = entities[rule_link], entities[case_link]
    assert rule["entity_type"] == "slack#/entities/item"
    assert rule["entity_payload"]["attributes"]["title"]["text"] == "CPU high"
    assert {"key": "active_alerts", "label": "Active alerts", "type": "string", "value": "1"} in rule["entity_payload"][
        "custom_fields"
    ]
    assert case_entity["entity_type"] == "slack#/entities/incident"
    fields = case_entity["entity_payload"]["fields"]
    assert (fields["status"]["value"], fields["priority"]["value"]) == ("in-progress", "critical")
    assert case_entity["external_ref"]["id"] == f"default/{case['id']}"


async def test_the_fake_checks_work_objects() -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async with FakeSlack() as fake:
        event = fake.share_links(CHANNEL, f"{BASE}{RULE_PAGE}/r1")
        assert event is not None
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        entity = {
            "app_unfurl_url": f"{BASE}{RULE_PAGE}/r1",
            "url": f"{BASE}{RULE_PAGE}/r1",
            "external_ref": {"id": "default/r1"},
            "entity_type": "slack#/entities/item",
            "entity_payload": {"attributes": {"title": {"text": "CPU high"}}},
        }
        for wrong, error in [
            ({"entity_type": "slack#/entities/rule"}, "invalid_metadata_schema"),
            ({"entity_payload": {"attributes": {}}}, "invalid_metadata_schema"),
            ({"app_unfurl_url": f"{BASE}/elsewhere"}, "cannot_unfurl_url"),
        ]:
            with pytest.raises(SlackApiError) as refused:
                await client.chat_unfurl(
                    unfurl_id=event["unfurl_id"], source=event["source"], metadata={"entities": [{**entity, **wrong}]}
                )
            assert refused.value.response["error"] == error
        answer = await client.chat_unfurl(
            unfurl_id=event["unfurl_id"], source=event["source"], metadata={"entities": [entity]}
        )
        assert (
            answer["ok"]
            and fake.work_objects_of(event["unfurl_id"])[entity["url"]]["entity_type"] == entity["entity_type"]
        )


async def test_slacks_retry_of_the_event_unfurls_once(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    people(slack, ALICE)
    payload = driver.link_shared(f"{BASE}{RULE_PAGE}/r1")
    assert (await driver.post(payload)).status_code == 200
    await slack.wait_for("chat.unfurl")
    assert (await driver.post(payload, retry_num=1, retry_reason="http_timeout")).status_code == 200
    await asyncio.sleep(0.5)
    await settled(bot, slack, 1)
    assert len(slack.calls_to("chat.unfurl")) == 1 and len(slack.calls_to("conversations.members")) == 1
