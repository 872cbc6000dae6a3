"""The largest request head (HTTP_MAX_HEADER_BYTES) holds with either HTTP implementation uvicorn runs:
uvicorn bounds it only for h11, and its default (httptools, when installed) read a 4 MiB head whole.
A head over the limit is answered 431 and the connection closed; a big body is not a big head; a head
pipelined behind a request is counted too. Servers configured by `server_config`, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.server import server_config, start_listening
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack

from .conftest import make_settings

WITHIN = 10.0  # seconds: every read here is bounded


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


async def _length(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


APP = Starlette(routes=[Route("/healthz", _healthz), Route("/length", _length, methods=["POST"])])


@pytest.fixture(params=["h11", "httptools"])
async def server(
    request: pytest.FixtureRequest, kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[int]:
    settings: Settings = make_settings(kibana, slack, tmp_path, http_max_header_bytes=16_384)
    running = uvicorn.Server(server_config(APP, settings, host="127.0.0.1", port=0, http=request.param))
    task = await start_listening(running)
    try:
        yield int(running.servers[0].sockets[0].getsockname()[1])
    finally:
        running.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


async def exchange(port: int, data: bytes) -> bytes:
    """Send `data` and read what comes back until the server closes (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(writer.drain(), WITHIN)
    received = b""
    started = time.monotonic()
    while time.monotonic() - started < WITHIN:
        try:
            chunk = await asyncio.wait_for(reader.read(65_536), WITHIN)
        except (TimeoutError, ConnectionError):
            break
        if not chunk:
            break
        received += chunk
    writer.close()
    return received


async def test_a_head_over_the_limit_is_431_and_closed(server: int) -> None:
    received = await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 << 10) + b"\r\n\r\n")
    assert received.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")), received[:100]  # h11 itself says 400


async def test_a_4_mib_head_is_never_served(server: int) -> None:
    # the server closes while the client still writes: the client may see the 431 or only a reset
    received = await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20) + b"\r\n\r\n")
    assert b"200 OK" not in received


async def test_a_big_body_is_not_a_big_head(server: int) -> None:
    body = b"x" * (300 * 1024)
    head = f"POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    received = await exchange(server, head.encode() + body)
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(str(len(body)).encode())


async def test_a_head_just_under_the_limit_is_served(server: int) -> None:
    received = await exchange(
        server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 15_000 + b"\r\n\r\n"
    )
    assert received.startswith(b"HTTP/1.1 200")


async def test_a_big_head_pipelined_behind_a_request_is_refused(server: int) -> None:
    received = await exchange(
        server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20),
    )
    assert received.count(b"HTTP/1.1 200") <= 1  # the first may be answered; the second never is
