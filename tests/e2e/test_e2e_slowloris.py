"""Issue 30, item 1: a client trickling request heads does not take the places of real requests.

The attacker keeps a few hundred half-sent request heads open on 127.0.0.1 (from the loopback address
127.0.0.2, another host to the server) and reopens each as the head deadline closes it, while signed
Slack requests arrive from 127.0.0.1. HTTP_MAX_CONNECTIONS counts only requests whose head is
complete, so every Slack request is answered 200 within Slack's 3 s; HTTP_MAX_CONNECTIONS_PER_CLIENT
bounds the connections one address keeps waiting. Every loop here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot import metrics
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .conftest import SIGNING_SECRET, make_settings

ATTACKER = "127.0.0.2"  # Linux routes all of 127.0.0.0/8 to the loopback interface
HEAD_DEADLINE = 1.0  # seconds: short, so that the attacker's heads are closed and reopened during a test
SLACK_TIMEOUT = 3.0  # Slack gives up on an answer after 3 s
HALF_HEAD = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def _attacker_address_usable() -> bool:
    import socket

    try:
        with socket.socket() as probe:
            probe.bind((ATTACKER, 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _attacker_address_usable(), reason=f"{ATTACKER} is not a loopback address here (Linux routes 127.0.0.0/8)"
)


@dataclass
class Slowloris:
    """`sockets` connections from ATTACKER, each sending half a request head and reopened when closed."""

    host: str
    port: int
    sockets: int
    open_now: int = 0
    opened: int = 0
    closed_by_server: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold_one(self) -> None:
        for _ in range(1000):  # bounded: a few reopenings per second for the length of a test
            if self.stop.is_set():
                return
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=(ATTACKER, 0))
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.opened += 1
            self.open_now += 1
            try:
                writer.write(HALF_HEAD)
                await writer.drain()
                stopping = asyncio.ensure_future(self.stop.wait())
                reading = asyncio.ensure_future(reader.read(1))
                await asyncio.wait({stopping, reading}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if reading.done() and not reading.cancelled() and reading.exception() is None:
                    self.closed_by_server += 1
                reading.cancel()
            except OSError:
                self.closed_by_server += 1
            finally:
                self.open_now -= 1
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Slowloris]:
        tasks = [asyncio.create_task(self.hold_one()) for _ in range(self.sockets)]
        try:
            for _ in range(500):  # until every socket has been opened once (bounded)
                if self.opened >= self.sockets:
                    break
                await asyncio.sleep(0.01)
            yield self
        finally:
            self.stop.set()
            await asyncio.wait(tasks, timeout=10)
            for task in tasks:
                task.cancel()


def address(bot: RunningBot) -> tuple[str, int]:
    parts = urlsplit(bot.url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    return parts.hostname, parts.port


async def slack_requests(driver: SlackDriver, count: int, *, pause: float = 0.05) -> list[int]:
    """`count` signed slash commands, sent ten at a time, `pause` s apart; each answer's status, or 0
    when Slack would have given up (no answer within 3 s)."""
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=SLACK_TIMEOUT) as client:

        async def one(index: int) -> int:
            try:
                response = await driver.post(driver.slash_command("whoami" if index % 2 else "help"), client=client)
            except httpx.TimeoutException:
                return 0
            return response.status_code

        for start in range(0, count, 10):
            statuses += await asyncio.gather(*(one(i) for i in range(start, min(start + 10, count))))
            await asyncio.sleep(pause)
    return statuses


def refused(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value("chatops_http_refused_total", {"reason": reason}) or 0.0


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    # the cap at its default (200), fewer than the attacker's sockets; no per-client cap, so that
    # only the way requests are counted stands between the attacker and Slack
    return make_settings(kibana, slack, tmp_path, http_header_timeout=HEAD_DEADLINE, http_max_connections_per_client=0)


async def test_trickled_heads_do_not_take_the_places_of_slack_requests(bot: RunningBot, driver: SlackDriver) -> None:
    assert bot.runtime.settings.http_max_connections == 200
    host, port = address(bot)
    busy_before = refused("busy")
    async with Slowloris(host, port, sockets=260).running() as attack:
        assert attack.open_now > bot.runtime.settings.http_max_connections
        # spread over more than the head deadline: the attacker's heads are closed and reopened meanwhile
        statuses = await slack_requests(driver, 60, pause=HEAD_DEADLINE / 2)
        reopened = attack.closed_by_server
        still_open = attack.open_now
    assert statuses == [200] * 60
    assert refused("busy") == busy_before
    assert reopened >= 260  # the head deadline still closes them (and the attacker opened them again)
    assert still_open > 200


async def test_the_per_client_cap_closes_what_one_address_opens_beyond_it(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, http_header_timeout=30.0, http_max_connections_per_client=20)
    async with running_bot(settings, mode="http") as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        host, port = address(bot)
        before = refused("client_connections")
        async with Slowloris(host, port, sockets=50).running() as attack:
            for _ in range(200):  # the server closes the 30 beyond the cap as they open (bounded wait)
                if attack.open_now <= 20 and attack.closed_by_server >= 30:
                    break
                await asyncio.sleep(0.02)
            assert attack.open_now <= 20
            assert refused("client_connections") - before >= 30
            statuses = await slack_requests(driver, 20)  # another address: not held back
        assert statuses == [200] * 20


async def test_the_cap_counts_requests_whose_head_is_complete(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """Three requests sending their bodies slowly hold the three places; the fourth gets 503 with
    Retry-After, and once they are answered the places are free again."""
    settings = make_settings(kibana, slack, tmp_path, http_max_connections=3, http_body_timeout=30.0)
    async with running_bot(settings, mode="http") as bot:
        host, port = address(bot)
        slow = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n"
                + f"X-Slack-Request-Timestamp: {int(time.time())}\r\n\r\ntext=".encode()
            )
            await writer.drain()
            slow.append((reader, writer))
        async with httpx.AsyncClient(base_url=bot.url, timeout=SLACK_TIMEOUT) as client:
            answer = None
            for _ in range(100):  # until the three have reached the app (bounded)
                answer = await client.get("/healthz")
                if answer.status_code == 503:
                    break
                await asyncio.sleep(0.02)
            assert answer is not None and answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            assert "HTTP_MAX_CONNECTIONS" in answer.text
            for _reader, writer in slow:
                writer.close()
            for _ in range(100):
                answer = await client.get("/healthz")
                if answer.status_code == 200:
                    break
                await asyncio.sleep(0.02)
            assert answer.status_code == 200
