"""Issue 30, item 6: a failure is not a yes. When Slack gives no answer at all to conversations.info
(unreachable, or silent past the timeout), subscribing is refused with a sentence, as it is for each
of Slack's error answers (tests/e2e/test_e2e_slack_scopes.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.shared.channels import channel_problem


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 that reads the request and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_an_unreachable_slack_is_not_a_yes() -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    said = await channel_problem(client, "C0ALERTS", "alerts", direct=False, bot="kibana")
    assert said is not None and said.startswith("Slack did not answer when I checked this channel")
    assert "nothing was subscribed" in said


async def test_a_silent_slack_is_not_a_yes(silent_server: str) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=silent_server, timeout=1)
    said = await channel_problem(client, "C0ALERTS", "reports", direct=True, bot="kibana")
    assert said is not None and "nothing was subscribed" in said and "Try again" in said
