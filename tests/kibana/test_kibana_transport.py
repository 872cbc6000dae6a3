"""The aiohttp transport under httpx: aiohttp's errors mapped by whether the request left, and
what reaches a real server (percent-encoded ids, bodies, multipart)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import httpx
import pytest

from bot.devkit.fake_kibana import FakeKibana
from bot.kibana import KibanaClient
from bot.kibana.retry import NEVER_SENT
from bot.kibana.transport import KibanaTransport, _httpx_error


def _request(connect: float = 10.0) -> httpx.Request:
    timeouts = {"connect": connect, "read": connect, "write": connect, "pool": 60.0}
    return httpx.Request("POST", "http://kibana.test/api/cases", extensions={"timeout": timeouts})


class _Key:
    ssl = True
    host, port = "kibana.test", 5601


@pytest.mark.parametrize(
    ("error", "elapsed", "expected"),
    [
        (aiohttp.ClientConnectorError(_Key(), OSError(111, "Connection refused")), 0.0, httpx.ConnectError),  # type: ignore[arg-type]
        (aiohttp.ConnectionTimeoutError("Connection timeout"), 10.0, httpx.ConnectTimeout),
        (aiohttp.ConnectionTimeoutError("Connection timeout"), 60.0, httpx.PoolTimeout),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), 10.0, httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("timeout"), 10.0, httpx.ReadTimeout),
        (TimeoutError(), 10.0, httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), 0.0, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("Response payload is not completed"), 0.0, httpx.ReadError),
        (aiohttp.ClientConnectionResetError("Connection reset by peer"), 0.0, httpx.ReadError),
        (aiohttp.ClientOSError(32, "Broken pipe"), 0.0, httpx.NetworkError),
        (aiohttp.ClientConnectionError("Connection closed"), 0.0, httpx.NetworkError),
    ],
)
def test_aiohttp_errors_map_by_whether_the_request_was_sent(
    error: Exception, elapsed: float, expected: type[httpx.TransportError]
) -> None:
    request = _request()
    mapped = _httpx_error(error, request, elapsed)

    assert type(mapped) is expected
    assert mapped.request is request
    never_sent = expected in {httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout}
    assert isinstance(mapped, NEVER_SENT) is never_sent


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
    transport = KibanaTransport(verify=True, max_connections=3, keepalive_expiry=5.0)
    client = KibanaClient(base_url=fake.url, api_key="test-api-key", transport=transport)
    async with client:
        await asyncio.gather(*(client.health() for _ in range(6)))
        session = transport._inner.client
        assert isinstance(session, aiohttp.ClientSession) and not session.closed
        assert session.connector is not None and session.connector.limit == 3

    assert session.closed
