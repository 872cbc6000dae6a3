"""How the Kibana client talks HTTP: through one aiohttp session per process, or any httpx transport.

`AiohttpSender` is what the bot uses. Through httpx's API (even on an aiohttp transport, the
`httpx-aiohttp` package) every call built and parsed httpx's request, URL, headers and response
objects on top of aiohttp's: about 150 µs of CPU a call, more than aiohttp's own work (bench
`kibana`: 0.3× a raw aiohttp session, against 0.8× and over without those layers).

`HttpxSender` sends through an `httpx.AsyncBaseTransport` passed to `KibanaClient(transport=…)`:
`httpx.MockTransport` and the test suite's scripted Kibana and contract checker. It is the seam
for tests, not a second production path; both senders take the same `Outgoing` request (built
once by the connection) and give the same `Answer`.

Both classify a failure below HTTP by what it says about the request having been sent, which
is what the retry policy reads (a case must not be created twice):

* `ConnectError` (refused, DNS, TLS handshake or certificate), `ConnectTimeout`, `PoolTimeout`
  (the wait for a free pooled connection ran out): never sent;
* `ReadTimeout` (sent, no answer in time), `RemoteProtocolError` (the server closed the connection
  or answered something that is not HTTP), `ReadError` (reset, incomplete body), `NetworkError`,
  `UnsupportedProtocol`, `TransportError`: sent, or may have been.

The names are httpx's exception names, so an httpx transport's failures keep theirs, and
`KibanaError.error` says the same for both senders.

aiohttp itself sends a request again once when a kept-alive connection turns out to have been
closed by the server, but only for the methods HTTP calls idempotent (GET, PUT, DELETE, …).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from yarl import URL

if TYPE_CHECKING:
    import httpx

NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
TIMEOUTS = frozenset({"ConnectTimeout", "PoolTimeout", "ReadTimeout"})


class TransportFailure(Exception):
    """The request failed below HTTP; `kind` is one of the names above, `reason` what was said."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason

    @property
    def sent(self) -> bool:
        """Whether the request may have reached Kibana."""
        return self.kind not in NEVER_SENT

    @property
    def timed_out(self) -> bool:
        return self.kind in TIMEOUTS


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: to connect, between bytes of the answer, and to get a free pooled connection."""

    connect: float
    read: float
    pool: float


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP request: `url` is absolute and already percent-encoded (query included); `path`
    is the part of it that errors name."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """Kibana's answer, read whole. `headers` is case-insensitive."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]
    content: bytes
    method: str
    path: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)


class Sender(Protocol):
    async def send(self, request: Outgoing) -> Answer: ...

    async def aclose(self) -> None: ...


class AiohttpSender:
    """One `aiohttp.ClientSession` (made on the first call, inside the running loop) for every call."""

    def __init__(
        self, *, verify: ssl.SSLContext | bool, timeouts: Timeouts, max_connections: int, keepalive_expiry: float
    ) -> None:
        self.ssl = verify
        self.timeouts = timeouts
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        # aiohttp's `connect` covers the wait for a pooled connection and the connect itself,
        # whose own bound is `sock_connect`.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeouts.pool, sock_connect=timeouts.connect, sock_read=timeouts.read
        )
        self.session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, keepalive_timeout=self.keepalive_expiry, ssl=self.ssl
        )
        # No cookie jar: every call carries its own credentials.
        self.session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, timeout=self._timeout
        )
        return self.session

    async def send(self, request: Outgoing) -> Answer:
        session = self.session or self._open()
        started = time.monotonic()
        try:
            async with session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise failure_from_aiohttp(exc, time.monotonic() - started, self.timeouts.connect) from exc
        return Answer(response.status, response.reason or "", response.headers, content, request.method, request.path)

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


def _reason(exc: BaseException) -> str:
    """What the failure said, on one line and short (it ends up in a sentence to the user)."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def failure_from_aiohttp(exc: BaseException, elapsed: float, connect_timeout: float) -> TransportFailure:
    reason = _reason(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # A wait longer than the connect bound was a wait for a free connection of the pool.
        waited_for_pool = elapsed > connect_timeout * 1.1 + 1.0
        return TransportFailure("PoolTimeout" if waited_for_pool else "ConnectTimeout", reason)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch):
        return TransportFailure("ConnectError", reason)
    if isinstance(exc, TimeoutError):  # SocketTimeoutError, ServerTimeoutError, asyncio's
        return TransportFailure("ReadTimeout", reason)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return TransportFailure("RemoteProtocolError", reason)
    if isinstance(exc, aiohttp.ClientPayloadError | ConnectionResetError):
        return TransportFailure("ReadError", reason)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return TransportFailure("UnsupportedProtocol", reason)
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return TransportFailure("NetworkError", reason)
    return TransportFailure("TransportError", reason)


class HttpxSender:
    """Sends through an httpx transport (tests' scripted Kibana, `httpx.MockTransport`)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeouts: Timeouts) -> None:
        self.transport = transport
        self._timeouts = {
            "connect": timeouts.connect,
            "read": timeouts.read,
            "write": timeouts.read,
            "pool": timeouts.pool,
        }

    async def send(self, request: Outgoing) -> Answer:
        import httpx

        outgoing = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.body,
            extensions={"timeout": self._timeouts},
        )
        try:
            response = await self.transport.handle_async_request(outgoing)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise failure_from_httpx(exc) from exc
        return Answer(
            response.status_code, response.reason_phrase, response.headers, content, request.method, request.path
        )

    async def aclose(self) -> None:
        await self.transport.aclose()


def failure_from_httpx(exc: httpx.TransportError) -> TransportFailure:
    import httpx

    reason = _reason(exc)
    for never_sent in (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError):
        if isinstance(exc, never_sent):
            return TransportFailure(never_sent.__name__, reason)
    if isinstance(exc, httpx.TimeoutException):  # read and write timeouts
        return TransportFailure("ReadTimeout", reason)
    for kind in (httpx.ReadError, httpx.RemoteProtocolError, httpx.UnsupportedProtocol, httpx.NetworkError):
        if isinstance(exc, kind):
            return TransportFailure(kind.__name__, reason)
    return TransportFailure("TransportError", reason)
