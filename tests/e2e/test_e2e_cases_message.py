"""A Kibana case from a Slack message, end to end: the `open_case` shortcut opens a prefilled
form; submitting it creates exactly one case (double submits, Kibana timeouts) and posts its
link in the message's thread."""

from __future__ import annotations

import asyncio
from typing import Any

from devkit.contract import ContractValidator, spec_path
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver

CHANNEL = "C0ALERTS"
TEXT = "Checkout p99 is 4s since the 10:40 deploy\nSee the grafana board, error rate is fine"
CREATE = "/api/cases"


def posted_cases(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method == "POST" and r.route == CREATE]


def stored_cases(kibana: FakeKibana) -> list[dict[str, Any]]:
    return list(kibana.state.cases.values())


async def open_form(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Run the shortcut on `message`; return the modal once the bot has filled it in."""
    updates = len(slack.calls_to("views.update"))
    response = await driver.post(driver.message_shortcut("open_case", message, **kw))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    return slack.views[call.params["view_id"]]


def initial(view: dict[str, Any], block_id: str) -> Any:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    element = block["element"]
    if element["type"] == "static_select":
        return element["initial_option"]["value"]
    if element["type"] == "checkboxes":
        return [o["value"] for o in element.get("initial_options", [])]
    return element.get("initial_value")


async def submit(driver: SlackDriver, view: dict[str, Any], values: dict[str, Any] | None = None, **kw: Any) -> Any:
    response = await driver.post(driver.view_submission(view, values or {}, **kw))
    assert response.status_code == 200
    return response.json() if response.content else None


async def test_form_is_prefilled_from_the_message(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    permalink = slack.workspace.permalink(CHANNEL, message["ts"])
    assert view["callback_id"] == "case_create_modal"
    assert initial(view, "title") == "Checkout p99 is 4s since the 10:40 deploy"
    description = initial(view, "description")
    assert description.startswith(TEXT)
    assert "<@U0BOB>" in description and permalink in description
    assert initial(view, "severity") == "low"
    assert initial(view, "tags") == "slack"
    assert initial(view, "owner") == "cases"
    assert initial(view, "sync_alerts") == ["sync"]
    assert len(view["private_metadata"]) <= 3000
    assert kibana.requests == []  # opening the form asks Kibana nothing


async def test_submit_creates_one_case_with_link_in_thread_and_comment(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    permalink = slack.workspace.permalink(CHANNEL, message["ts"])
    ack = await submit(driver, view, {"severity": {"severity": "high"}, "tags": {"tags": "slack, checkout , prod"}})
    assert ack is None  # the modal closes
    replies = await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[1:])
    await slack.wait_for(lambda: any(c["type"] == "user" for case in stored_cases(kibana) for c in case["comments"]))

    [sent] = posted_cases(kibana)
    body = sent.json
    assert body["title"] == "Checkout p99 is 4s since the 10:40 deploy"
    assert body["description"].startswith(TEXT)
    assert permalink in body["description"] and "<@U0BOB>" in body["description"]
    assert body["tags"][:3] == ["slack", "checkout", "prod"]
    assert body["tags"][3] == f"slack-dedupe:{CHANNEL}:{message['ts']}"
    assert body["owner"] == "cases" and body["severity"] == "high"
    assert body["settings"] == {"syncAlerts": True}
    assert body["connector"] == {"id": "none", "name": "none", "type": ".none", "fields": None}
    path = spec_path()
    assert path is not None, "the Kibana OpenAPI spec is needed for the contract check"
    ContractValidator(path).validate_request(
        "POST", sent.path, headers=sent.headers, body=sent.body, content_type="application/json"
    )

    [case] = stored_cases(kibana)
    [reply] = replies
    url = f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{case['id']}"
    assert f"<{url}|Checkout p99 is 4s since the 10:40 deploy>" in reply["text"]
    assert reply["text"].startswith("<@U0ALICE> opened Kibana case")
    [comment] = case["comments"]
    assert "@alice" in comment["comment"] and "<@U0ALICE>" in comment["comment"]
    assert permalink in comment["comment"]
    await slack.wait_for("chat.postMessage", count=2)  # the link, then the case's card (test_e2e_case_card.py)
    assert [call.ok for call in slack.calls_to("chat.postMessage")] == [True, True]


async def test_double_submit_opens_one_case(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.fault("POST", CREATE, latency=0.5)  # the first is still creating when the second arrives
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    acks = await asyncio.gather(submit(driver, view), submit(driver, view))
    assert acks == [None, None]
    await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[1:])
    await slack.wait_for(lambda: [e for e in slack.ephemerals if "already has a Kibana case" in e["text"]]
                         or [r for r in slack.responses if "already has" in r.body.get("text", "")])  # fmt: skip
    await slack.wait_for(lambda: len(slack.thread(CHANNEL, message["ts"])) >= 3)
    await asyncio.sleep(0.3)  # nothing more arrives
    assert len(posted_cases(kibana)) == 1
    assert len(stored_cases(kibana)) == 1
    assert len(slack.thread(CHANNEL, message["ts"])) == 3  # the message, one link and the case's card


async def test_field_errors_show_in_the_modal(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    message = slack.post_as_user(CHANNEL, TEXT)
    view = await open_form(driver, slack, message)
    ack = await submit(
        driver,
        view,
        {
            "title": {"title": "x" * 161},
            "tags": {"tags": ", ".join(f"t{i}" for i in range(200))},
        },
    )
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"title", "tags"}
    assert "160" in ack["errors"]["title"] and "161" in ack["errors"]["title"]
    ack = await submit(driver, view, {"title": {"title": "   "}, "tags": {"tags": "ok, " + "y" * 257}})
    assert set(ack["errors"]) == {"title", "tags"}
    assert "256" in ack["errors"]["tags"]
    ack = await submit(driver, view, {"description": {"description": "z" * 30001}})
    assert set(ack["errors"]) == {"description"}
    assert posted_cases(kibana) == []


async def test_second_shortcut_offers_to_add_a_comment(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    await submit(driver, view)
    await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[2:])  # the link and the card
    await slack.wait_for(lambda: any(case["comments"] for case in stored_cases(kibana)))

    second = await open_form(driver, slack, message, user_id="U0CAROL")
    assert second["callback_id"] == "case_comment_modal"
    [case] = stored_cases(kibana)
    assert case["id"] in second["blocks"][0]["text"]["text"]  # links to the existing case
    assert TEXT in initial(second, "comment")
    assert await submit(driver, second, user_id="U0CAROL") is None
    replies = await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[3:])
    assert replies[0]["text"].startswith("<@U0CAROL> added this message to Kibana case <")
    assert len(posted_cases(kibana)) == 1
    [case] = stored_cases(kibana)
    comments = [c["comment"] for c in case["comments"]]
    assert len(comments) == 2 and TEXT in comments[1] and "<@U0CAROL>" in comments[1]


async def test_a_message_inside_a_thread_gets_the_link_in_that_thread(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    parent = slack.post_as_user(CHANNEL, "Incident: checkout", user="U0BOB")
    reply = slack.post_as_user(CHANNEL, "Now payments too\nsince 10:50", user="U0CAROL", thread_ts=parent["ts"])
    view = await open_form(driver, slack, reply)
    assert initial(view, "title") == "Now payments too"
    assert "thread_ts=" in initial(view, "description")  # the permalink points into the thread
    await submit(driver, view)
    thread = await slack.wait_for(lambda: slack.thread(CHANNEL, parent["ts"])[2:])
    assert "opened Kibana case" in thread[0]["text"]
    [sent] = posted_cases(kibana)
    assert sent.json["tags"][-1] == f"slack-dedupe:{CHANNEL}:{reply['ts']}"  # the reply, not its parent
