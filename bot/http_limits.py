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
from bot.throttled_log import ThrottledLog

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER = 1  # seconds, in the 503's Retry-After


def guarded_protocol(
    protocol: type[asyncio.Protocol], *, head_seconds: float, per_client: int
) -> type[asyncio.Protocol]:
    """`protocol` (uvicorn's h11 or httptools protocol) with the head deadline and the per-client cap
    (`per_client` 0: no cap). Each call makes a class with its own table of clients (one per server)."""
    peers: dict[str, set[Any]] = {}
    throttled = ThrottledLog(log)  # one line a minute per client address

    class Guarded(protocol):  # type: ignore[valid-type,misc]
        _deadline: asyncio.TimerHandle | None = None
        _armed_for: object = None
        _client: str | None = None

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
                throttled.warning(
                    f"client:{self._client}",
                    "closed a new connection from %s: it already keeps %d connections waiting to send a "
                    "request head (HTTP_MAX_CONNECTIONS_PER_CLIENT)",
                    self._client,
                    per_client,
                )
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self._waiting_for_head():
                self._arm()
            super().data_received(data)

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
        self._throttled = ThrottledLog(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.serving >= self.limit:
            metrics.HTTP_REFUSED.labels("busy").inc()
            self._throttled.warning(
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
