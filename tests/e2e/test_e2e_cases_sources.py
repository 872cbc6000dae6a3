"""The other ways into the case form: `/kibana case [<title>]`, the `case_open` button on an
alert message, and the shortcut over Socket Mode."""

from __future__ import annotations

import asyncio
from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.cases.actions import CASE_OPEN

CHANNEL = "C0ALERTS"
CREATE = "/api/cases"


def initial(view: dict[str, Any], block_id: str) -> Any:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    element = block["element"]
    if element["type"] == "static_select":
        return element["initial_option"]["value"]
    return element.get("initial_value")


async def command_form(driver: SlackDriver, slack: FakeSlack, text: str, **kw: Any) -> dict[str, Any]:
    opened = len(slack.calls_to("views.open"))
    response = await driver.post(driver.slash_command(text, **kw))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
    assert call.ok
    return slack.views[call.response["view"]["id"]]


async def submit(driver: SlackDriver, view: dict[str, Any], values: dict[str, Any] | None = None) -> Any:
    response = await driver.post(driver.view_submission(view, values or {}))
    assert response.status_code == 200
    return response.json() if response.content else None


async def test_case_command_opens_the_form_and_posts_the_link_in_the_channel(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    view = await command_form(driver, slack, "case Checkout is slow for EU users")
    assert initial(view, "title") == "Checkout is slow for EU users"
    assert "<@U0ALICE>" in initial(view, "description")
    assert kibana.requests == []
    before = len(slack.channel_messages(CHANNEL))
    assert await submit(driver, view, {"description": {"description": "p99 4s since 10:40"}}) is None
    [link] = await slack.wait_for(lambda: slack.channel_messages(CHANNEL)[before:])
    [case] = kibana.state.cases.values()
    assert case["title"] == "Checkout is slow for EU users"
    assert case["description"] == "p99 4s since 10:40"  # no message: nothing is appended
    assert case["tags"] == ["slack", f"slack-dedupe:view:{view['id']}"]
    assert case["id"] in link["text"] and "thread_ts" not in link
    await slack.wait_for(lambda: case["comments"])
    assert "<@U0ALICE>" in case["comments"][0]["comment"]


async def test_case_command_double_submit_opens_one_case(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.fault("POST", CREATE, latency=0.4)
    view = await command_form(driver, slack, "case Disk full on db-3")
    await asyncio.gather(submit(driver, view), submit(driver, view))
    await slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL) if "opened Kibana case" in m["text"]])
    await asyncio.sleep(0.3)
    assert kibana.count("POST", CREATE) == 1
    assert len(kibana.state.cases) == 1


async def test_case_command_where_the_bot_is_not_a_member_answers_through_the_command(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    slack.add_channel("C0QUIET", "quiet", is_member=False)
    view = await command_form(driver, slack, "case Quiet channel incident", channel_id="C0QUIET")
    await submit(driver, view)
    [answer] = await slack.wait_for(lambda: [r.body for r in slack.responses if "opened Kibana case" in r.body["text"]])
    [case] = kibana.state.cases.values()
    assert case["id"] in answer["text"] and answer["response_type"] == "in_channel"


def alert_message(slack: FakeSlack, target: Target) -> dict[str, Any]:
    """An alert message as the webhook posts it (built by hand here), with its case button."""
    text = "CPU usage above 90% is active on host-1\nReason: cpu 97% > 90%"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open case"},
                    "action_id": CASE_OPEN,
                    "value": target.pack(),
                }
            ],
        },
    ]
    return slack.workspace.post(CHANNEL, text=text, blocks=blocks, thread_ts=None)


async def test_case_open_button_on_an_alert_prefills_from_the_rule(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", space="ops", tags=["infra", "prod"], active_alerts=["host-1"])
    target = Target(rule_id="r1", space="ops", alert_id="host-1", alert_uuid="3f1a")
    message = alert_message(slack, target)
    response = await driver.post(driver.block_action(CASE_OPEN, target.pack(), message=message))
    assert response.status_code == 200
    [update] = await slack.wait_for("views.update")
    view = slack.views[update.params["view_id"]]
    assert initial(view, "title") == "CPU high: host-1"
    assert initial(view, "tags") == "slack, infra, prod"
    assert "CPU usage above 90% is active on host-1" in initial(view, "description")
    assert await submit(driver, view) is None
    reply = (await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[1:]))[0]  # then the case card
    [sent] = [r for r in kibana.requests if r.method == "POST" and r.route == CREATE]
    assert sent.path == "/s/ops/api/cases"
    assert sent.json["tags"] == ["slack", "infra", "prod", f"slack-dedupe:{CHANNEL}:{message['ts']}"]
    assert "/app/management/insightsAndAlerting/triggersActions/rule/r1" in sent.json["description"]
    [case] = kibana.state.cases.values()
    assert "/s/ops/app/management/insightsAndAlerting/cases/" + case["id"] in reply["text"]


async def test_shortcut_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    message = slack.post_as_user(CHANNEL, "Search is down\nall queries 500", user="U0BOB")
    ack = await socket_driver.send_socket(socket_driver.message_shortcut("open_case", message))
    assert ack.get("envelope_id")
    [update] = await slack.wait_for("views.update")
    view = slack.views[update.params["view_id"]]
    assert initial(view, "title") == "Search is down"
    bad = socket_driver.view_submission(view, {"title": {"title": "t" * 161}})
    ack = await socket_driver.send_socket(bad)
    assert ack["payload"]["response_action"] == "errors" and "160" in ack["payload"]["errors"]["title"]
    ack = await socket_driver.send_socket(socket_driver.view_submission(view, {"severity": {"severity": "critical"}}))
    assert not ack.get("payload")  # closes the modal: no errors
    reply = (await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[1:]))[0]  # then the case card
    [case] = kibana.state.cases.values()
    assert case["severity"] == "critical" and case["id"] in reply["text"]
