"""Socket Mode against slack_sdk's real aiohttp SocketModeClient and Bolt's AsyncSocketModeHandler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"  # modelled on real frames: see its README.md


def slack_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


class Recorder:
    """A SocketModeClient listener that acks (or not) and keeps what it saw."""

    def __init__(self, *, ack: bool = True) -> None:
        self.ack = ack
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []

    async def on_message(self, client: SocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        self.messages.append(message)

    async def on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        if self.ack:
            body = {"text": f"echo {request.payload.get('text', '')}"} if request.accepts_response_payload else None
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=body))


@pytest.fixture
async def recorder(fake_slack: FakeSlack) -> AsyncIterator[tuple[SocketModeClient, Recorder]]:
    seen = Recorder()
    client = SocketModeClient(
        app_token=fake_slack.app_token,
        web_client=AsyncWebClient(base_url=fake_slack.api_url),
        ping_interval=1,
    )
    client.message_listeners.append(seen.on_message)
    client.socket_mode_request_listeners.append(seen.on_request)
    await client.connect()
    try:
        yield client, seen
    finally:
        await client.close()


async def test_hello_comes_first_shaped_like_slacks(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    _, seen = recorder
    await fake_slack.wait_for(lambda: seen.messages, timeout=3)
    hello = seen.messages[0]
    expected = slack_fixture("socket_mode_hello.json")
    assert set(hello) == set(expected)
    assert set(hello["debug_info"]) == set(expected["debug_info"])
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": "A0001"}
    assert fake_slack.connected.is_set()
    assert fake_slack.calls_to("apps.connections.open")[0].token == fake_slack.app_token


async def test_slash_command_envelope_and_ack_with_payload(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    _, seen = recorder
    ack = await fake_slack.deliver("slash_commands", {"command": "/kibana", "text": "health"})
    assert ack["payload"] == {"text": "echo health"}
    assert fake_slack.acks == [ack]
    envelope = fake_slack.envelopes[0]
    assert ack["envelope_id"] == envelope["envelope_id"]
    assert set(envelope) == set(slack_fixture("socket_mode_slash_commands.json"))
    assert envelope["accepts_response_payload"] is True
    assert seen.requests[0].type == "slash_commands"


async def test_events_api_envelopes_carry_retry_fields(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    _, seen = recorder
    await fake_slack.deliver("events_api", {"type": "event_callback"}, retry_attempt=1, retry_reason="timeout")
    envelope = fake_slack.envelopes[0]
    expected = slack_fixture("socket_mode_events_api_retry.json")
    assert set(envelope) == set(expected)
    assert (envelope["retry_attempt"], envelope["retry_reason"], envelope["accepts_response_payload"]) == (
        1,
        "timeout",
        False,
    )
    assert (seen.requests[0].retry_attempt, seen.requests[0].retry_reason) == (1, "timeout")


async def test_interactive_envelopes_have_no_retry_fields(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    await fake_slack.deliver("interactive", {"type": "block_actions"})
    await fake_slack.deliver("interactive", {"type": "view_submission"})
    first, second = fake_slack.envelopes
    assert set(first) == set(slack_fixture("socket_mode_interactive_shortcut.json"))
    assert (first["accepts_response_payload"], second["accepts_response_payload"]) == (False, True)


async def test_an_unacknowledged_envelope_times_out(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    _, seen = recorder
    seen.ack = False
    with pytest.raises(TimeoutError):
        await fake_slack.deliver("slash_commands", {"text": "x"}, timeout=0.3)
    assert fake_slack.acks == []


async def test_pings_are_answered(fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]) -> None:
    client, _ = recorder
    # the client pings on connect and records the pong's timestamp
    await fake_slack.wait_for(lambda: client.last_ping_pong_time is not None, timeout=3)
    assert await client.is_connected()


async def test_disconnect_makes_the_client_reconnect(
    fake_slack: FakeSlack, recorder: tuple[SocketModeClient, Recorder]
) -> None:
    await fake_slack.wait_for(lambda: fake_slack.socket_mode.connection_count == 1, timeout=3)
    await fake_slack.send_disconnect("refresh_requested")
    await fake_slack.wait_for("apps.connections.open", count=2, timeout=5)
    await fake_slack.wait_for(lambda: fake_slack.socket_mode.connection_count == 2, timeout=5)
    ack = await fake_slack.deliver("slash_commands", {"text": "after"})
    assert ack["payload"] == {"text": "echo after"}


async def test_deliver_without_a_connection_times_out(fake_slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError):
        await fake_slack.deliver("slash_commands", {"text": "x"}, timeout=0.1)


async def test_bolt_socket_mode_handler_end_to_end(fake_slack: FakeSlack, slack_driver: SlackDriver) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url), signing_secret="unused"
    )

    @app.command("/kibana")
    async def kibana(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(f"you said {command['text']}")

    handler = AsyncSocketModeHandler(app, fake_slack.app_token)
    await handler.connect_async()
    try:
        ack = await slack_driver.send_socket(slack_driver.slash_command("health"))
    finally:
        await handler.close_async()
    assert ack["payload"] == {"text": "you said health"}
