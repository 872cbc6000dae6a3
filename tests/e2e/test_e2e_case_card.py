"""The case card and the two-way sync of a case with its Slack thread (issue 28, items 3-5), end to end:
the real bot over real HTTP, the fake Slack and the fake Kibana, what Kibana received and what the
thread shows."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from slack_sdk.models.blocks import Block

from devkit.contract import ContractValidator, spec_path
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.cases.actions import CARD_SEVERITY, CARD_STATUS, CARD_SYNC, CARD_UNSYNC, CASE_OPEN
from handlers.cases.card import CardValue
from handlers.cases.sync_from_kibana import CaseActivity

from .test_e2e_cases_sources import alert_message

CHANNEL = "C0ALERTS"
TEXT = "Checkout p99 is 4s since the 10:40 deploy"
PATCH = ("PATCH", "/api/cases")
ACTIVITY = "/api/cases/{caseId}/user_actions/_find"
CAROL = ("carol", "carol-password")  # a person working on the case in Kibana's UI


# ---- helpers ---------------------------------------------------------------------------------


async def open_case(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> tuple[dict[str, Any], str]:
    """A case opened from a message with the shortcut; the message and the case id, once its card is posted."""
    kibana.users[CAROL[0]] = CAROL[1]
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    updates = len(slack.calls_to("views.update"))
    assert (await driver.post(driver.message_shortcut("open_case", message))).status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    view = slack.views[call.params["view_id"]]
    assert (await driver.post(driver.view_submission(view, {}))).status_code == 200
    await slack.wait_for(lambda: card(slack, message))
    [case_id] = [case_id for (_, case_id) in kibana.state.cases]
    return message, case_id


def card(slack: FakeSlack, message: dict[str, Any]) -> dict[str, Any] | None:
    found = [m for m in slack.thread(CHANNEL, message["ts"]) if "case_card" in str(m.get("blocks"))]
    return found[-1] if found else None


def card_text(slack: FakeSlack, message: dict[str, Any]) -> str:
    shown = card(slack, message)
    assert shown is not None
    return str(shown["blocks"])


def thread_texts(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [str(m.get("text", "")) for m in slack.thread(CHANNEL, message["ts"])[1:]]


def option_value(slack: FakeSlack, message: dict[str, Any], action_id: str, value: str) -> str:
    shown = card(slack, message)
    assert shown is not None
    for block in shown["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                for choice in element.get("options", []):
                    if CardValue.unpack(choice["value"]).to == value:
                        return str(choice["value"])
                return str(element["value"])
    raise AssertionError(f"no {action_id} on the card")


async def choose(
    driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], action_id: str, to: str, **kw: Any
) -> None:
    shown = card(slack, message)
    value = option_value(slack, message, action_id, to)
    response = await driver.post(driver.block_action(action_id, value, message=shown, **kw))
    assert response.status_code == 200


async def in_kibana(kibana: FakeKibana, method: str, path: str, body: Any = None) -> Any:
    """What a person does in Kibana's UI (as carol, Basic auth)."""
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.request(method, kibana.url + path, json=body, auth=CAROL, headers={"kbn-xsrf": "true"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def version_of(kibana: FakeKibana, case_id: str) -> str:
    return str((await in_kibana(kibana, "GET", f"/api/cases/{case_id}"))["version"])


def patches(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if (r.method, r.route) == PATCH]


def activity_of(kibana: FakeKibana, case_id: str) -> list[dict[str, Any]]:
    return kibana.state.case_activity[("default", case_id)]


async def read_activity(bot: RunningBot) -> int:
    return await bot.runtime.part(CaseActivity).read_all()


# ---- the card --------------------------------------------------------------------------------


async def test_a_case_opened_from_a_message_gets_its_card_in_the_thread(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    shown = card(slack, message)
    assert shown is not None
    for block in Block.parse_all(shown["blocks"]):
        block.validate_json()  # slack_sdk's Block Kit models
    blocks = str(shown["blocks"])
    assert f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{case_id}" in blocks
    assert "Open in Kibana" in blocks and "Sync this thread" in blocks
    assert "'initial_option': {'text': {'type': 'plain_text', 'text': 'Open'" in blocks
    assert "Edits and deletions of replies are not mirrored" in blocks
    # the link starts after what the case already had: one look at its activity, one action a page
    [look] = [r for r in kibana.requests if r.route == ACTIVITY]
    assert look.query["perPage"] == "1" and look.query["sortOrder"] == "asc"
    assert look.query["types"] == ["comment", "status", "severity", "assignees"]


async def test_the_status_menu_patches_the_case_at_its_current_version(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    current = await version_of(kibana, case_id)
    await choose(driver, slack, message, CARD_STATUS, "closed")
    await slack.wait_for(lambda: any("set the case's status to *Closed*" in t for t in thread_texts(slack, message)))

    [sent] = patches(kibana)
    assert sent.json == {"cases": [{"id": case_id, "version": current, "status": "closed"}]}
    path = spec_path()
    assert path is not None
    ContractValidator(path).validate_request(
        "PATCH", sent.path, headers=sent.headers, body=sent.body, content_type="application/json"
    )
    assert kibana.state.cases[("default", case_id)]["status"] == "closed"
    assert ":white_circle: Closed" in card_text(slack, message)
    # what the bot did itself is not told back to the thread
    before = thread_texts(slack, message)
    assert await read_activity(bot) == 0
    assert thread_texts(slack, message) == before


async def test_a_409_race_on_a_status_change_reads_the_case_again_and_retries_once(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    first = await version_of(kibana, case_id)
    kibana.fault("PATCH", "/api/cases", latency=0.6, times=1)  # the bot's PATCH is in flight …
    await choose(driver, slack, message, CARD_STATUS, "in-progress")
    await slack.wait_for(lambda: patches(kibana))
    # … when carol raises the severity in Kibana: the version the bot sends is stale
    await in_kibana(kibana, "PATCH", "/api/cases", {"cases": [{"id": case_id, "version": first, "severity": "high"}]})
    await slack.wait_for(lambda: any("*In progress*" in t for t in thread_texts(slack, message)))

    mine = [r for r in patches(kibana) if r.headers.get("authorization", "").startswith("ApiKey")]
    assert [r.json["cases"][0]["status"] for r in mine] == ["in-progress", "in-progress"]
    assert mine[0].json["cases"][0]["version"] == first
    assert mine[1].json["cases"][0]["version"] != first  # read again: the version after carol's change
    [stale] = [e for e in kibana.exchanges if e.request is mine[0]]
    assert stale.status == 409
    case = kibana.state.cases[("default", case_id)]
    assert (case["status"], case["severity"]) == ("in-progress", "high")  # both changes kept
    assert "In progress" in card_text(slack, message) and "High" in card_text(slack, message)


async def test_a_second_409_is_told_to_the_person(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    kibana.fault("PATCH", "/api/cases", status=409, times=2)
    await choose(driver, slack, message, CARD_SEVERITY, "critical")
    told = await slack.wait_for(
        lambda: (
            [r for r in slack.responses if "409 twice" in r.body.get("text", "")]
            or [e for e in slack.ephemerals if "409 twice" in e["text"]]
        )
    )
    text = str(told)
    assert "was not changed" in text and "choose again" in text
    assert len(patches(kibana)) == 2
    assert kibana.state.cases[("default", case_id)]["severity"] == "low"
    assert not any("set the case's severity" in t for t in thread_texts(slack, message))


async def test_a_value_from_another_card_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message, _ = await open_case(driver, slack, kibana)
    shown = card(slack, message)
    assert shown is not None
    forged = CardValue(link=999, to="closed").pack()  # a link that is not this card's
    payload = driver.block_action(CARD_STATUS, option_value(slack, message, CARD_STATUS, "closed"), message=shown)
    payload["actions"][0]["selected_option"]["value"] = forged
    assert (await driver.post(payload)).status_code == 200
    await slack.wait_for(lambda: [r for r in slack.responses if "not one the bot shows" in r.body.get("text", "")])
    assert patches(kibana) == []
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert any(e.result == "refused" and "forged value" in (e.detail or "") for e in entries)


# ---- Kibana → thread -------------------------------------------------------------------------


async def test_kibana_activity_is_posted_into_the_thread_once_each(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    path = f"/api/cases/{case_id}"
    await in_kibana(
        kibana, "POST", path + "/comments", {"type": "user", "owner": "cases", "comment": "DB failover done <!channel>"}
    )
    changes = {"status": "in-progress", "severity": "critical", "assignees": [{"uid": "u_carol"}]}
    version = await version_of(kibana, case_id)
    await in_kibana(kibana, "PATCH", "/api/cases", {"cases": [{"id": case_id, "version": version, **changes}]})
    closing = {"id": case_id, "version": await version_of(kibana, case_id), "status": "closed"}
    await in_kibana(kibana, "PATCH", "/api/cases", {"cases": [closing]})
    before = len(thread_texts(slack, message))

    assert await read_activity(bot) == 5
    new = thread_texts(slack, message)[before:]
    # the comment is quoted with Slack's control characters escaped: no live @channel
    assert any("*carol* commented on the case in Kibana:\n>DB failover done &lt;!channel&gt;" in t for t in new)
    assert any("set the case's status to *In progress*" in t for t in new)
    assert any("set the case's severity to *Critical*" in t for t in new)
    assert any("assigned 1 person to the case" in t for t in new)
    assert any("*carol* closed the case in Kibana" in t for t in new)
    assert "Closed" in card_text(slack, message) and "Critical" in card_text(slack, message)
    # read again: nothing is posted twice
    assert await read_activity(bot) == 0
    assert len(thread_texts(slack, message)) == before + 5
    # it reads from where it got to: the page after what it has seen, oldest first, 100 a page
    last = [r for r in kibana.requests if r.route == ACTIVITY][-1]
    assert last.query["sortOrder"] == "asc" and last.query["perPage"] == "100"


async def test_a_deleted_case_is_unlinked_and_its_thread_told(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    del kibana.state.cases[("default", case_id)]
    await read_activity(bot)
    assert any("no longer exists" in t for t in thread_texts(slack, message))
    assert await bot.runtime.services.store.case_links_of_thread(CHANNEL, message["ts"]) == []


# ---- thread → case ---------------------------------------------------------------------------


async def test_sync_this_thread_adds_replies_as_comments_until_stopped(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    slack.add_user("U0DAVE", "dave")
    message, case_id = await open_case(driver, slack, kibana)
    user_comments = lambda: [c for c in kibana.state.cases[("default", case_id)]["comments"] if c["type"] == "user"]  # noqa: E731
    first = len(user_comments())
    # a reply before sync is on stays in Slack
    early = slack.post_as_user(CHANNEL, "before sync", user="U0DAVE", thread_ts=message["ts"])
    assert (await driver.post(driver.message_event(early))).status_code == 200

    await choose(driver, slack, message, CARD_SYNC, "")
    await slack.wait_for(lambda: "Thread sync is on" in card_text(slack, message))
    await slack.wait_for(lambda: any("turned thread sync on" in t for t in thread_texts(slack, message)))

    reply = slack.post_as_user(CHANNEL, "Rolled back <b>v2.3</b>", user="U0DAVE", thread_ts=message["ts"])
    answers = await driver.post_with_retries(driver.message_event(reply), retries=2)  # Slack retries it twice
    assert [a.status_code for a in answers] == [200, 200, 200]
    await slack.wait_for(lambda: len(user_comments()) == first + 1)
    await asyncio.sleep(0.3)  # nothing more arrives
    added = user_comments()[first:]
    assert len(added) == 1  # a retried event is not added twice
    [comment] = added
    assert comment["comment"].startswith("Rolled back <b>v2.3</b>")
    assert "@dave (Slack user U0DAVE)" in comment["comment"]
    assert slack.workspace.permalink(CHANNEL, reply["ts"]) in comment["comment"]
    # an edit and a deletion are not mirrored; neither are the bot's own messages
    edited = {"type": "message", "subtype": "message_changed", "channel": CHANNEL, "ts": reply["ts"],
              "message": {**reply, "text": "edited"}, "previous_message": reply}  # fmt: skip
    await driver.post(driver.event_callback(edited))
    await driver.post(driver.event_callback({"type": "message", "subtype": "message_deleted", "channel": CHANNEL,
                                             "ts": reply["ts"], "deleted_ts": reply["ts"]}))  # fmt: skip
    # the bot's own comment is not told back to the thread
    before = thread_texts(slack, message)
    assert await read_activity(bot) == 0
    assert thread_texts(slack, message) == before

    await choose(driver, slack, message, CARD_UNSYNC, "")
    await slack.wait_for(lambda: "Thread sync is off" in card_text(slack, message))
    late = slack.post_as_user(CHANNEL, "after stop", user="U0DAVE", thread_ts=message["ts"])
    assert (await driver.post(driver.message_event(late))).status_code == 200
    await asyncio.sleep(0.3)
    texts = [c["comment"] for c in user_comments()]
    assert len(texts) == first + 1
    assert not any("before sync" in t or "after stop" in t or "edited" in t for t in texts)


# ---- the other ways in -------------------------------------------------------------------------


async def test_a_case_opened_from_an_alert_gets_its_card_in_the_alerts_thread_and_space(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", space="ops", active_alerts=["host-1"])
    target = Target(rule_id="r1", space="ops", alert_id="host-1", alert_uuid="3f1a")
    message = alert_message(slack, target)
    assert (await driver.post(driver.block_action(CASE_OPEN, target.pack(), message=message))).status_code == 200
    [update] = await slack.wait_for("views.update")
    assert (await driver.post(driver.view_submission(slack.views[update.params["view_id"]], {}))).status_code == 200
    await slack.wait_for(lambda: card(slack, message))
    [(space, case_id)] = list(kibana.state.cases)
    assert space == "ops"
    assert f"/s/ops/app/management/insightsAndAlerting/cases/{case_id}" in card_text(slack, message)
    await choose(driver, slack, message, CARD_STATUS, "closed")
    await slack.wait_for(lambda: patches(kibana))
    [sent] = patches(kibana)
    assert sent.path == "/s/ops/api/cases"  # the case's space
    await slack.wait_for(lambda: kibana.state.cases[("ops", case_id)]["status"] == "closed")


async def test_thread_sync_over_socket_mode_adds_a_retried_reply_once(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    kibana.users[CAROL[0]] = CAROL[1]
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    await socket_driver.send_socket(socket_driver.message_shortcut("open_case", message))
    [update] = await slack.wait_for("views.update")
    await socket_driver.send_socket(socket_driver.view_submission(slack.views[update.params["view_id"]], {}))
    await slack.wait_for(lambda: card(slack, message))
    [(_, case_id)] = list(kibana.state.cases)
    shown = card(slack, message)
    assert shown is not None
    sync = option_value(slack, message, CARD_SYNC, "")
    await socket_driver.send_socket(socket_driver.block_action(CARD_SYNC, sync, message=shown))
    await slack.wait_for(lambda: "Thread sync is on" in card_text(slack, message))

    reply = slack.post_as_user(CHANNEL, "Cache flushed", user="U0BOB", thread_ts=message["ts"])
    event = socket_driver.message_event(reply)
    for attempt in range(3):  # delivered, then retried twice with the same event_id
        ack = await socket_driver.send_socket(event, retry_attempt=attempt, retry_reason="timeout" if attempt else "")
        assert ack.get("envelope_id")

    def synced() -> list[str]:
        case = kibana.state.cases[("default", case_id)]
        return [c["comment"] for c in case["comments"] if "Cache flushed" in c.get("comment", "")]

    await slack.wait_for(synced)
    await asyncio.sleep(0.3)
    assert len(synced()) == 1


async def test_comments_the_bot_adds_from_slack_are_not_told_back_to_the_thread(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message, case_id = await open_case(driver, slack, kibana)
    # the shortcut again on the same message: its form adds the message to the case as a comment
    updates = len(slack.calls_to("views.update"))
    assert (await driver.post(driver.message_shortcut("open_case", message, user_id="U0BOB"))).status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    view = slack.views[call.params["view_id"]]
    assert view["callback_id"] == "case_comment_modal"
    assert (await driver.post(driver.view_submission(view, {}, user_id="U0BOB"))).status_code == 200
    await slack.wait_for(lambda: any("added this message" in t for t in thread_texts(slack, message)))
    assert len(kibana.state.cases[("default", case_id)]["comments"]) == 2
    before = thread_texts(slack, message)
    assert await read_activity(bot) == 0
    assert thread_texts(slack, message) == before
