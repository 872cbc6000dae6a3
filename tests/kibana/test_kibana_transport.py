"""The Kibana client's HTTP layer: aiohttp's and httpx's errors classified by whether the request
left, and what reaches a real server (percent-encoded ids, bodies, multipart)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import httpx
import pytest

from bot.kibana import KibanaClient
from bot.kibana.transport import AiohttpSender, failure_from_aiohttp, failure_from_httpx
from devkit.fake_kibana import FakeKibana


class _Key:
    ssl = True
    host, port = "kibana.test", 5601


@pytest.mark.parametrize(
    ("error", "elapsed", "expected"),
    [
        (aiohttp.ClientConnectorError(_Key(), OSError(111, "Connection refused")), 0.0, "ConnectError"),  # type: ignore[arg-type]
        (aiohttp.ConnectionTimeoutError("Connection timeout"), 10.0, "ConnectTimeout"),
        (aiohttp.ConnectionTimeoutError("Connection timeout"), 60.0, "PoolTimeout"),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), 10.0, "ReadTimeout"),
        (aiohttp.ServerTimeoutError("timeout"), 10.0, "ReadTimeout"),
        (TimeoutError(), 10.0, "ReadTimeout"),
        (aiohttp.ServerDisconnectedError(), 0.0, "RemoteProtocolError"),
        (aiohttp.ClientPayloadError("Response payload is not completed"), 0.0, "ReadError"),
        (aiohttp.ClientConnectionResetError("Connection reset by peer"), 0.0, "ReadError"),
        (aiohttp.ClientOSError(32, "Broken pipe"), 0.0, "NetworkError"),
        (aiohttp.ClientConnectionError("Connection closed"), 0.0, "NetworkError"),
    ],
)
def test_aiohttp_errors_map_by_whether_the_request_was_sent(error: Exception, elapsed: float, expected: str) -> None:
    failure = failure_from_aiohttp(error, elapsed, connect_timeout=10.0)

    assert failure.kind == expected
    assert failure.sent is (expected not in {"ConnectError", "ConnectTimeout", "PoolTimeout"})
    assert failure.timed_out is expected.endswith("Timeout")


@pytest.mark.parametrize(
    ("error", "expected", "sent"),
    [
        (httpx.ConnectError("refused"), "ConnectError", False),
        (httpx.ConnectTimeout("slow"), "ConnectTimeout", False),
        (httpx.PoolTimeout("busy"), "PoolTimeout", False),
        (httpx.ReadTimeout("slow"), "ReadTimeout", True),
        (httpx.WriteTimeout("slow"), "ReadTimeout", True),
        (httpx.RemoteProtocolError("closed"), "RemoteProtocolError", True),
        (httpx.ReadError("reset"), "ReadError", True),
        (httpx.WriteError("broken pipe"), "NetworkError", True),
        (httpx.UnsupportedProtocol("ftp"), "UnsupportedProtocol", True),
    ],
)
def test_an_httpx_transports_errors_map_the_same_way(error: httpx.TransportError, expected: str, sent: bool) -> None:
    failure = failure_from_httpx(error)

    assert (failure.kind, failure.sent) == (expected, sent)


async def test_odd_ids_reach_kibana_as_sent(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    odd = "r/../x ~%2E"
    fake.add_rule(id=odd, active_alerts=["host a?b"], space="ops")
    client = connect()

    await client.mute_alert(odd, "host a?b", space="ops")
    rule = await client.get_rule(odd, space="ops")

    mute = next(r for r in fake.requests if r.method == "POST")
    assert mute.path == f"/s/ops/api/alerting/rule/{odd}/alert/host a?b/_mute"
    assert mute.path_params == {"rule_id": odd, "alert_id": "host a?b"}
    assert rule.id == odd


async def test_bodies_and_multipart_uploads_arrive_whole(
    fake: FakeKibana, connect: Callable[..., KibanaClient]
) -> None:
    client = connect()
    sourcemap = b'{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}'

    uploaded = await client.upload_sourcemap(
        service_name="web", service_version="1.2.3", bundle_filepath="/static/a.js", sourcemap=sourcemap
    )
    listed = await client.list_sourcemaps()

    assert [a.id for a in listed.artifacts] == [uploaded.id]


async def test_the_session_is_made_in_the_loop_and_closed_with_the_client(fake: FakeKibana) -> None:
    client = KibanaClient(base_url=fake.url, api_key="test-api-key")
    sender = client._kibana.sender
    assert isinstance(sender, AiohttpSender) and sender.session is None
    async with client:
        await asyncio.gather(*(client.health() for _ in range(6)))
        session = sender.session
        assert isinstance(session, aiohttp.ClientSession) and not session.closed
        assert session.connector is not None and session.connector.limit == 100

    assert session.closed
