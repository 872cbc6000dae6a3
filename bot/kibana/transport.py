"""The Kibana client's HTTP transport: aiohttp under httpx's API (the `httpx-aiohttp` package).

httpx's own transport (httpcore) cost about 5 ms of CPU per Kibana call on a 2-core machine;
aiohttp's connection pool and parser cost a fraction of that. The client keeps httpx's API
(requests, responses, timeouts, `httpx.MockTransport` in tests); only the transport changes.

`AiohttpTransport` maps aiohttp's errors to httpx's, but by class alone, and it maps every
`aiohttp.ClientConnectionError` (a server that closed the connection after the request was
written, too) to `httpx.ConnectTimeout`, which says that the request never left. The bot's
retry policy reads exactly that distinction (a case must not be created twice), so this
transport maps the aiohttp error again, by what it says about the request having been sent:

* `ClientConnectorError` (refused, DNS, TLS handshake or certificate) → `httpx.ConnectError`;
* `ConnectionTimeoutError` → `httpx.ConnectTimeout`, or `httpx.PoolTimeout` when the wait was
  for a free connection of the pool (it lasted longer than the connect timeout): never sent;
* `SocketTimeoutError` and other timeouts → `httpx.ReadTimeout`: sent, no answer in time;
* `ServerDisconnectedError`, a malformed answer → `httpx.RemoteProtocolError`: sent;
* a reset connection, an incomplete body → `httpx.ReadError`; anything else → a
  `httpx.TransportError` that counts as sent.

aiohttp itself sends a request again once when a kept-alive connection turns out to have been
closed by the server, but only for the methods HTTP calls idempotent (GET, PUT, DELETE, …).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class KibanaTransport(httpx.AsyncBaseTransport):
    """`httpx_aiohttp.AiohttpTransport` on one aiohttp session, with errors mapped as above."""

    def __init__(self, *, verify: ssl.SSLContext | bool, max_connections: int, keepalive_expiry: float) -> None:
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._inner = AiohttpTransport(
            verify=verify,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=keepalive_expiry),
            client=self._session,
        )

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return self._inner.ssl_context

    def _session(self) -> aiohttp.ClientSession:
        """Made on the first request, inside the running loop, as aiohttp wants."""
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, keepalive_timeout=self.keepalive_expiry, ssl=self._inner.ssl_context
        )
        # No cookie jar: every call carries its own credentials, and httpx's client keeps none either.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            cause = exc.__cause__
            if isinstance(cause, Exception) and _is_network_error(cause):
                raise _httpx_error(cause, request, time.monotonic() - started) from cause
            raise
        except Exception as exc:
            if _is_network_error(exc):
                raise _httpx_error(exc, request, time.monotonic() - started) from exc
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Body(httpx.AsyncByteStream):
    """The answer's body, with failures while reading it mapped as above."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            cause = exc.__cause__
            if isinstance(cause, Exception) and _is_network_error(cause):
                raise _httpx_error(cause, self._request, 0.0) from cause
            raise
        except Exception as exc:
            if _is_network_error(exc):
                raise _httpx_error(exc, self._request, 0.0) from exc
            raise

    async def aclose(self) -> None:
        await self._stream.aclose()


def _is_network_error(exc: Exception) -> bool:
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError)


def _httpx_error(exc: Exception, request: httpx.Request, elapsed: float) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # aiohttp's `connect` timeout covers the wait for a free pooled connection and the connect
        # itself (whose own bound is `sock_connect`, rounded up to a second when over 5 s).
        connect = request.extensions.get("timeout", {}).get("connect")
        waited_for_pool = connect is not None and elapsed > connect * 1.1 + 1.0
        kind = httpx.PoolTimeout if waited_for_pool else httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch):
        kind = httpx.ConnectError
    elif isinstance(exc, TimeoutError):  # SocketTimeoutError, ServerTimeoutError, asyncio's
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientPayloadError | ConnectionResetError):
        kind = httpx.ReadError
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectionError | OSError):
        kind = httpx.NetworkError
    else:
        kind = httpx.TransportError
    return kind(message, request=request)
