"""Slow clients over raw TCP on 127.0.0.1: a stalled head or body is closed within its deadline, an
idle keep-alive connection goes, and an aborted body is one log line (never a traceback)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot

from .conftest import WEBHOOK_TOKEN, make_settings

DEADLINE = 1.0  # seconds, for the head, the body and keep-alive in these tests
WITHIN = DEADLINE + 3.0  # a loaded machine's slack


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(
        kibana,
        slack,
        tmp_path,
        http_header_timeout=DEADLINE,
        http_body_timeout=DEADLINE,
        http_keep_alive_timeout=DEADLINE,
    )


async def connect(bot: RunningBot) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = urlsplit(bot.url)
    assert address.hostname == "127.0.0.1"
    return await asyncio.open_connection(address.hostname, address.port)


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    received = b""
    while time.monotonic() - started < WITHIN:  # bounded: never waits for ever
        try:
            chunk = await asyncio.wait_for(reader.read(65_536), timeout=WITHIN)
        except TimeoutError:
            break
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
    raise AssertionError(f"the connection was still open after {WITHIN} s; got {received[:200]!r}")


def head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\nX-Slack-Request-Timestamp: {int(time.time())}\r\n"
        f"X-Slack-Signature: v0={'0' * 64}\r\n{extra}\r\n"
    ).encode()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["/slack/events", "/kibana/alerts"])
async def test_a_stalled_body_is_closed_within_the_deadline(
    path: str, bot: RunningBot, kibana: FakeKibana, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await connect(bot)
    writer.write(head(path, 100_000, f"Authorization: Bearer {WEBHOOK_TOKEN}\r\n") + b"text=" + b"a" * 1000)
    await writer.drain()
    received, took = await read_until_closed(reader)
    writer.close()
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert took < WITHIN
    lines = [r.getMessage() for r in caplog.records if "did not arrive within" in r.getMessage()]
    assert len(lines) == 1
    no_tracebacks(caplog)
    assert kibana.requests == []


async def test_a_stalled_request_head_is_closed_within_the_deadline(bot: RunningBot) -> None:
    reader, writer = await connect(bot)
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    await writer.drain()
    received, took = await read_until_closed(reader)
    writer.close()
    assert received == b"" and took < WITHIN


async def test_a_silent_connection_is_closed_within_the_deadline(bot: RunningBot) -> None:
    reader, writer = await connect(bot)
    received, took = await read_until_closed(reader)
    writer.close()
    assert received == b"" and took < WITHIN


async def test_an_idle_keep_alive_connection_is_closed(bot: RunningBot) -> None:
    reader, writer = await connect(bot)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    received, took = await read_until_closed(reader)
    writer.close()
    assert received.startswith(b"HTTP/1.1 200") and took < WITHIN


async def test_an_aborted_body_is_one_log_line(
    bot: RunningBot, kibana: FakeKibana, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        _reader, writer = await connect(bot)
        writer.write(head("/slack/events", 100_000) + b"text=" + b"a" * 1000)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        await writer.wait_closed()
    for _ in range(100):
        if len([r for r in caplog.records if "went away during the body" in r.getMessage()]) >= 5:
            break
        await asyncio.sleep(0.02)
    assert len([r for r in caplog.records if "went away during the body" in r.getMessage()]) == 5
    no_tracebacks(caplog)
    assert kibana.requests == []
