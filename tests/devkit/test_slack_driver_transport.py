"""Signing against a test vector (that slack_sdk's verifier agrees with), and the driver's HTTP
requests as a real Bolt AsyncApp (served over HTTP on 127.0.0.1) verifies and parses them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver, body_for, sign

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"
SECRET = "driver-test-secret"


def signing_vector() -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in (FIXTURES / "signing_vector.txt").read_text().splitlines():
        if " = " in line and not line.startswith("#"):
            name, value = line.split(" = ", 1)
            fields[name.strip()] = value
    return fields


def test_sign_matches_the_test_vector() -> None:
    vector = signing_vector()
    body = (FIXTURES / "slash_command.form.txt").read_bytes()
    assert body.decode() == vector["body"]
    timestamp = int(vector["X-Slack-Request-Timestamp"])
    # the vector's signature is what slack_sdk's own verifier computes, so it is not our sign() checking itself
    verifier = SignatureVerifier(vector["signing_secret"])
    assert verifier.generate_signature(timestamp=str(timestamp), body=body) == vector["X-Slack-Signature"]
    headers = sign(vector["signing_secret"], body, timestamp)
    assert headers == {
        "X-Slack-Request-Timestamp": vector["X-Slack-Request-Timestamp"],
        "X-Slack-Signature": vector["X-Slack-Signature"],
    }
    assert sign(vector["signing_secret"], body.decode(), timestamp) == headers


def test_sign_defaults_to_now_and_changes_with_secret() -> None:
    headers = sign("a", "body")
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert (
        headers["X-Slack-Signature"]
        != sign("b", "body", int(headers["X-Slack-Request-Timestamp"]))["X-Slack-Signature"]
    )


def test_bodies_are_encoded_like_slacks() -> None:
    command = body_for({"command": "/kibana", "text": "rules cpu high", "enterprise_name": "Sandbox Org"}, "command")
    assert command == "command=%2Fkibana&text=rules+cpu+high&enterprise_name=Sandbox+Org"
    interactive = body_for({"type": "block_actions", "x": "ü"}, "interactive")
    assert interactive.startswith("payload=")
    assert json.loads(parse_qs(interactive)["payload"][0]) == {"type": "block_actions", "x": "ü"}
    assert json.loads(body_for({"type": "event_callback"}, "event")) == {"type": "event_callback"}


class Seen:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.retry_nums: list[str | None] = []


@pytest.fixture
async def bolt(fake_slack: FakeSlack, slack_driver: SlackDriver) -> AsyncIterator[Seen]:
    """A real Bolt AsyncApp over HTTP; the driver's events_url points at it."""
    seen = Seen()
    app = AsyncApp(
        client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url),
        signing_secret="devkit-signing-secret",
    )

    @app.command("/kibana")
    async def command(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.bodies.append(body)
        await ack(f"ok: {body['text']}")

    @app.action("alert_mute")
    async def mute(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.bodies.append(body)
        await ack()

    @app.view("open_case")
    async def submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen.bodies.append(view)
        await ack(response_action="errors", errors={"title": "Title is required"})

    @app.event("app_mention")
    async def mention(body: dict[str, Any], request: AsyncBoltRequest) -> None:
        seen.bodies.append(body)
        seen.retry_nums.append(request.headers.get("x-slack-retry-num", [None])[0])

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    slack_driver.events_url = f"http://{host}:{port}/slack/events"
    try:
        yield seen
    finally:
        await runner.cleanup()


async def test_command_is_verified_parsed_and_acked(bolt: Seen, slack_driver: SlackDriver) -> None:
    response = await slack_driver.post(slack_driver.slash_command("rules cpu"))
    assert response.status_code == 200
    assert response.text == "ok: rules cpu"
    assert bolt.bodies[0]["user_id"] == "U0ALICE"


async def test_a_wrong_secret_or_stale_timestamp_is_refused(bolt: Seen, slack_driver: SlackDriver) -> None:
    payload = slack_driver.slash_command("help")
    wrong = await slack_driver.post(payload, signing_secret="not-the-secret")
    stale = await slack_driver.post(payload, timestamp=int(time.time()) - 6 * 60)
    assert (wrong.status_code, stale.status_code) == (401, 401)
    assert bolt.bodies == []


async def test_block_action_over_http(
    bolt: Seen, fake_slack: FakeSlack, slack_driver: SlackDriver, slack_client: AsyncWebClient
) -> None:
    blocks = [
        {
            "type": "actions",
            "block_id": "acts",
            "elements": [
                {
                    "type": "button",
                    "action_id": "alert_mute",
                    "text": {"type": "plain_text", "text": "Mute"},
                    "value": "v",
                }
            ],
        }
    ]
    await slack_client.chat_postMessage(channel="C0ALERTS", text="alert", blocks=blocks)
    response = await slack_driver.post(slack_driver.block_action("alert_mute"), kind="interactive")
    assert response.status_code == 200
    assert bolt.bodies[0]["actions"][0]["value"] == "v"


async def test_view_submission_ack_body_comes_back(bolt: Seen, slack_driver: SlackDriver) -> None:
    view = {
        "type": "modal",
        "callback_id": "open_case",
        "title": {"type": "plain_text", "text": "Open case"},
        "submit": {"type": "plain_text", "text": "Open"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "title"},
            }
        ],
    }
    response = await slack_driver.post(slack_driver.view_submission(view, {}))
    assert response.json() == {"response_action": "errors", "errors": {"title": "Title is required"}}
    assert bolt.bodies[0]["state"]["values"] == {"title": {"title": {"type": "plain_text_input", "value": None}}}


async def test_event_with_retry_headers(bolt: Seen, fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    event = {
        "type": "app_mention",
        "text": "<@U0BOT> health",
        "user": "U0ALICE",
        "ts": "1.000001",
        "channel": "C0ALERTS",
    }
    response = await slack_driver.post(slack_driver.event_callback(event), retry_num=1)
    assert response.status_code == 200
    await fake_slack.wait_for(lambda: bolt.bodies, timeout=3)
    assert bolt.retry_nums == ["1"]


async def test_url_verification_is_answered(bolt: Seen, slack_driver: SlackDriver) -> None:
    response = await slack_driver.post(slack_driver.url_verification("chal-123"))
    assert response.json() == {"challenge": "chal-123"}


async def test_post_needs_an_events_url() -> None:
    with pytest.raises(ValueError, match="events_url"):
        await SlackDriver(signing_secret="s").post({"command": "/kibana"})
