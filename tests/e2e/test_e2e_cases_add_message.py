"""The `add_to_case` shortcut ("Add to Kibana case"), end to end: any message goes into a chosen open
case as a user comment with its text, author, permalink and file names; a message longer than a form
field (3,000 characters) reaches Kibana whole; the link goes into the message's thread; a closed case
or a forged form is refused."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.models.views import View

from devkit.contract import ContractValidator, spec_path
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

CHANNEL = "C0ALERTS"
COMMENTS = "/api/cases/{caseId}/comments"
FILES = [{"id": "F0001", "name": "checkout-p99.png", "title": "p99"}, {"id": "F0002", "name": "deploy.log"}]


async def open_add(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    """Run the shortcut on `message`; the form once it is ready (its menu)."""
    updates = len(slack.calls_to("views.update"))
    response = await driver.post(driver.message_shortcut("add_to_case", message))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    return slack.views[call.params["view_id"]]


async def menu(driver: SlackDriver, view: dict[str, Any], typed: str = "") -> list[dict[str, Any]]:
    response = await driver.post(driver.block_suggestion(view, "case_pick", typed))
    assert response.status_code == 200
    options: list[dict[str, Any]] = response.json()["options"]
    return options


async def submit(driver: SlackDriver, view: dict[str, Any], values: dict[str, Any]) -> Any:
    response = await driver.post(driver.view_submission(view, values))
    assert response.status_code == 200
    return response.json() if response.content else None


def comment_posts(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method == "POST" and r.route == COMMENTS]


def replies(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread(CHANNEL, message["ts"]) if m["ts"] != message["ts"]]


def field(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    element: dict[str, Any] = block["element"]
    return element


async def test_a_message_with_files_becomes_a_comment_on_the_chosen_case(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    case = kibana.add_case(title="Checkout latency")
    message = {
        **slack.post_as_user(CHANNEL, "p99 is 4s since the *10:40* deploy <!here>", user="U0BOB"),
        "files": FILES,
    }
    view = await open_add(driver, slack, message)
    View(**view)  # slack_sdk's model accepts it
    assert view["callback_id"] == "case_add_message_modal"
    permalink = slack.workspace.permalink(CHANNEL, message["ts"])
    comment = field(view, "comment")["initial_value"]
    assert comment.startswith("p99 is 4s since the *10:40* deploy <!here>")
    assert "<@U0BOB>" in comment and permalink in comment and "Files: checkout-p99.png, deploy.log" in comment
    [option] = await menu(driver, view, "checkout")
    assert option == {"text": {"type": "plain_text", "text": "Checkout latency"}, "value": case["id"]}

    assert await submit(driver, view, {"case_pick": {"case_pick": case["id"]}}) is None
    said = await slack.wait_for(lambda: len(replies(slack, message)) >= 2 and replies(slack, message))
    [sent] = comment_posts(kibana)
    assert sent.path == f"/api/cases/{case['id']}/comments"
    assert sent.json["type"] == "user" and sent.json["owner"] == "cases"
    assert sent.json["comment"].startswith(comment)
    assert sent.json["comment"].endswith("Added from Slack by @alice (<@U0ALICE>)")
    path = spec_path()
    assert path is not None
    ContractValidator(path).validate_request(
        "POST", sent.path, headers=sent.headers, body=sent.body, content_type="application/json"
    )
    url = f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{case['id']}"
    assert said == [  # the receipt, then the case card the thread is now linked to
        f"<@U0ALICE> added this message to Kibana case <{url}|Checkout latency>.",
        "Kibana case Checkout latency: Open, severity low",
    ]
    [entry, *_] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result, entry.target) == ("add", "ok", case["id"])


async def test_a_40000_character_message_reaches_kibana_whole(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    case = kibana.add_case(title="Long logs")
    text = "".join(f"line {n:05d} of the stack trace\n" for n in range(1400))
    assert len(text.strip()) == 41_999
    message = slack.post_as_user(CHANNEL, text, user="U0BOB")
    view = await open_add(driver, slack, message)
    assert len(field(view, "comment")["initial_value"]) <= 3000
    assert "41,999 characters" in str(view["blocks"])  # the form says it shows the beginning
    assert await submit(driver, view, {"case_pick": {"case_pick": case["id"]}}) is None
    await slack.wait_for(lambda: replies(slack, message))
    await slack.wait_for(lambda: len(comment_posts(kibana)) == 3)
    first, *whole = [r.json["comment"] for r in comment_posts(kibana)]
    assert first.startswith(text[:1000])
    assert [c.split(":\n\n", 1)[0].rsplit("characters", 1)[1] for c in whole] == [", part 1 of 2)", ", part 2 of 2)"]
    assert "".join(c.split(":\n\n", 1)[1] for c in whole) == text.strip()
    assert all(len(c) <= 30000 for c in [first, *whole])
    stored = [c["comment"] for c in kibana.case(case["id"])["comments"]]
    assert len(stored) == 3


async def test_a_case_closed_meanwhile_is_not_commented_and_the_person_is_told(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    case = kibana.add_case(title="Checkout latency")
    message = slack.post_as_user(CHANNEL, "look at this", user="U0BOB")
    view = await open_add(driver, slack, message)
    kibana.case(case["id"])["status"] = "closed"
    assert await submit(driver, view, {"case_pick": {"case_pick": case["id"]}}) is None
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "closed" in e["text"]])
    assert "was closed meanwhile; choose an open one" in told[0]
    assert comment_posts(kibana) == [] and replies(slack, message) == []


async def test_the_menu_and_the_comment_are_required(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = slack.post_as_user(CHANNEL, "look at this", user="U0BOB")
    view = await open_add(driver, slack, message)
    answer = await submit(driver, view, {})
    assert answer == {"response_action": "errors", "errors": {"case_pick": "Choose the case to add to."}}
    answer = await submit(driver, view, {"case_pick": {"case_pick": "../../api/x"}})
    assert answer["errors"] == {"case_pick": "That is not a case the menu offered; choose one from the menu."}
    await asyncio.sleep(0.2)
    assert comment_posts(kibana) == []


async def test_a_forged_form_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    case = kibana.add_case(title="Checkout latency")
    message = slack.post_as_user(CHANNEL, "look at this", user="U0BOB")
    view = await open_add(driver, slack, message)
    forged = {**view, "private_metadata": view["private_metadata"].replace('"default"', '"ops"')}
    slack.views[view["id"]] = forged
    assert await menu(driver, forged) == []
    answer = await submit(driver, forged, {"case_pick": {"case_pick": case["id"]}})
    assert answer["response_action"] == "errors"
    await asyncio.sleep(0.2)
    assert comment_posts(kibana) == []
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert any(e.action == "add" and e.result == "refused" and "forged" in e.detail for e in entries)


async def test_the_shortcut_its_menu_and_its_form_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    case = kibana.add_case(title="Search outage")
    message = slack.post_as_user(CHANNEL, "Search is down\nall queries 500", user="U0BOB")
    ack = await socket_driver.send_socket(socket_driver.message_shortcut("add_to_case", message))
    assert ack.get("envelope_id")
    [update] = await slack.wait_for("views.update")
    view = slack.views[update.params["view_id"]]
    ack = await socket_driver.send_socket(socket_driver.block_suggestion(view, "case_pick", "search"))
    assert [o["value"] for o in ack["payload"]["options"]] == [case["id"]]
    ack = await socket_driver.send_socket(socket_driver.view_submission(view, {"case_pick": {"case_pick": case["id"]}}))
    assert not ack.get("payload")  # the modal closes
    said = await slack.wait_for(lambda: replies(slack, message))
    assert said[0].startswith("<@U0ALICE> added this message to Kibana case <")
    [comment] = kibana.case(case["id"])["comments"]
    assert comment["comment"].startswith("Search is down\nall queries 500")


async def test_a_full_case_is_said_to_be_full(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    case = kibana.add_case(title="Busy")
    kibana.case(case["id"])["comments"] = [{"type": "user", "comment": "c", "owner": "cases"}] * 9999
    message = slack.post_as_user(CHANNEL, "look at this", user="U0BOB")
    view = await open_add(driver, slack, message)
    assert await submit(driver, view, {"case_pick": {"case_pick": case["id"]}}) is None
    told = await slack.wait_for(lambda: [e["text"] for e in slack.ephemerals if "10,000" in e["text"]])
    assert told[0].startswith("Kibana refused: a case records at most 10,000 changes and comments")
    assert replies(slack, message) == []
    [entry, *_] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result, entry.kibana_status) == ("add", "error", 400)
