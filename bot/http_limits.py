"""What one HTTP client may hold of the server: the request-head deadline, the connections one client
address may keep waiting, and the number of requests served at once.

uvicorn's own `limit_concurrency` counts every open connection, also one that has not sent its request
head yet, so a client trickling a few hundred heads (each reopened as the head deadline closes it) took
every place and real Slack requests got 503 (issue 30). Here:

- a connection that has not sent a complete request head within `HTTP_HEADER_TIMEOUT` is closed;
- one client address may keep at most `HTTP_MAX_CONNECTIONS_PER_CLIENT` connections waiting for a
  request head (a first one, or the next one on a keep-alive connection); a connection beyond that is
  closed as it opens, so one address cannot hold the process's sockets;
- `HTTP_MAX_CONNECTIONS` counts only requests whose head is complete, until their answer is sent: a
  request beyond it gets 503 with Retry-After. Connections still sending a head never take a place.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from bot import metrics
from bot.failure_log import FailureLog

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER = 1  # seconds, in the 503's Retry-After


HEAD_TOO_LARGE = b"The request head is larger than the bot accepts (HTTP_MAX_HEADER_BYTES).\n"


def guarded_protocol(
    protocol: type[asyncio.Protocol], *, head_seconds: float, per_client: int, head_bytes: int
) -> type[asyncio.Protocol]:
    """`protocol` (uvicorn's h11 or httptools protocol) with the head deadline, the per-client cap
    (`per_client` 0: no cap) and the largest request head (`head_bytes`: uvicorn bounds it only for
    h11, and its default, httptools, read a 4 MiB head whole). Each call makes a class with its own
    table of clients (one per server)."""
    peers: dict[str, set[Any]] = {}
    throttled = FailureLog(log)  # one line a minute per client address

    class Guarded(protocol):  # type: ignore[valid-type,misc]
        _deadline: asyncio.TimerHandle | None = None
        _armed_for: object = None
        _client: str | None = None
        _head_bytes = 0  # bytes received towards a request head not yet complete
        _tail = b""  # the last bytes of it, to find a head's end split between two reads

        def _waiting_for_head(self) -> bool:
            cycle = getattr(self, "cycle", None)
            return cycle is None or bool(getattr(cycle, "response_complete", False))

        def _arm(self) -> None:
            self._armed_for = getattr(self, "cycle", None)
            self._deadline = asyncio.get_running_loop().call_later(head_seconds, self._expired)

        def _expired(self) -> None:
            self._deadline = None
            if not self._waiting_for_head():
                return  # a request is being read or answered: other deadlines apply
            if getattr(self, "cycle", None) is not self._armed_for:
                self._arm()  # another request came and went since: this wait started later
                return
            transport = getattr(self, "transport", None)
            if transport is not None and not transport.is_closing():
                log.info("closed a connection that sent no complete request head within %g s", head_seconds)
                transport.close()

        def _over_client_cap(self, transport: asyncio.BaseTransport) -> bool:
            """Whether this new connection's address already keeps `per_client` connections waiting."""
            peer = transport.get_extra_info("peername")
            if not peer:  # a Unix socket: no address to count by
                return False
            self._client = str(peer[0])
            mine = peers.setdefault(self._client, set())
            waiting = sum(1 for other in mine if other._waiting_for_head())
            mine.add(self)
            return per_client > 0 and waiting >= per_client

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            if self._over_client_cap(transport):
                metrics.HTTP_REFUSED.labels("client_connections").inc()
                throttled.often(
                    f"client:{self._client}",
                    "closed a new connection from %s: it already keeps %d connections waiting to send a "
                    "request head (HTTP_MAX_CONNECTIONS_PER_CLIENT)",
                    self._client,
                    per_client,
                )
                transport.close()
                return
            self._arm()

        def _unclaimed(self) -> bool:
            """Bytes arriving now belong to no request whose head is complete: the first head, or the
            next one once the last request's body is all in (answered or not: a body still coming
            after an early answer, a 401 say, is that request's, and uvicorn reads it away)."""
            cycle = getattr(self, "cycle", None)
            return cycle is None or getattr(cycle, "more_body", True) is False

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self._waiting_for_head():
                self._arm()
            unclaimed, cycle = self._unclaimed(), getattr(self, "cycle", None)
            if unclaimed and self._head_over_limit(data):
                self._refuse_head()
                return  # not given to the parser: no request starts from it
            super().data_received(data)
            if not (unclaimed and getattr(self, "cycle", None) is cycle and self._unclaimed()):
                self._head_bytes, self._tail = 0, b""  # a head completed (or a body is coming): start over

        def _head_over_limit(self, data: bytes) -> bool:
            """Count `data` towards the head being received (up to its end, when it ends in `data`)."""
            seen = self._tail + data
            ends = [at + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (at := seen.find(mark)) >= 0]
            counted = min(ends) - len(self._tail) if ends else len(data)
            self._head_bytes += max(0, counted)
            self._tail = seen[-3:]
            return self._head_bytes > head_bytes

        def _refuse_head(self) -> None:
            transport = getattr(self, "transport", None)
            if transport is None or transport.is_closing():
                return
            metrics.HTTP_REFUSED.labels("head_too_large").inc()
            throttled.often(
                f"head:{self._client}",
                "closed a connection from %s: its request head passed %d bytes (HTTP_MAX_HEADER_BYTES)",
                self._client,
                head_bytes,
            )
            if self._waiting_for_head():  # no answer is being written: say why
                transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    + f"content-length: {len(HEAD_TOO_LARGE)}\r\nconnection: close\r\n\r\n".encode()
                    + HEAD_TOO_LARGE
                )
            transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            if self._client is not None:
                mine = peers.get(self._client)
                if mine is not None:
                    mine.discard(self)
                    if not mine:
                        del peers[self._client]
            super().connection_lost(exc)

    Guarded.__name__ = f"{protocol.__name__}Guarded"
    return Guarded


class RequestCap:
    """ASGI middleware: at most `limit` HTTP requests served at once, counted from a complete request
    head to the end of the answer; one more gets 503 with Retry-After (Kibana's webhook connector
    retries it, Slack retries events). Lifespan and websocket scopes pass through uncounted."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.serving = 0
        self._throttled = FailureLog(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.serving >= self.limit:
            metrics.HTTP_REFUSED.labels("busy").inc()
            self._throttled.often(
                "busy",
                "answered 503: %d requests are being served, the most at once (HTTP_MAX_CONNECTIONS)",
                self.limit,
            )
            await _busy(send)
            return
        self.serving += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.serving -= 1


async def _busy(send: Send) -> None:
    body = b"The bot is serving as many requests as it may at once (HTTP_MAX_CONNECTIONS); try again shortly.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(BUSY_RETRY_AFTER).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
