"""Socket Mode: apps.connections.open, the `/link/` websocket, envelopes and acks.

Wire protocol (reference/slack/platform.md §5): the server sends `hello` first, then
envelopes `{"envelope_id", "payload", "type", "accepts_response_payload"[, "retry_attempt",
"retry_reason"]}`; the app answers each with `{"envelope_id"[, "payload"]}`. aiohttp
answers the client's websocket pings itself (autoping).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from devkit.fake_slack.web_api import Handler

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
# Interactions whose ack body Slack uses (view_submission response_action, options…).
RESPONSE_PAYLOAD_INTERACTIONS = ("view_submission", "block_suggestion")


class SocketMode:
    """The Socket Mode side of the fake: connections, envelopes sent, acks received."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.tickets: set[str] = set()
        self.connections: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.envelopes: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.other_frames: list[Any] = []
        self.connection_count = 0
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        self.tickets.discard(ticket)  # a ticket opens one connection
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        self.connection_count += 1
        try:
            await ws.send_json(self.hello())
            self.connected.set()
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._receive(frame.data)
        finally:
            self.connections.remove(ws)
            if not self.connections:
                self.connected.clear()
        return ws

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            self.other_frames.append(data)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self.other_frames.append(message)
            return
        self.acks.append(message)
        waiter = self._pending.pop(envelope_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the ack wait is bounded by design
    ) -> dict[str, Any]:
        """Send one envelope over the newest connection and wait (bounded) for its ack."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope_type must be one of {ENVELOPE_TYPES}, not {envelope_type!r}")
        async with asyncio.timeout(timeout):
            await self.connected.wait()
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive" and payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS
            )
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope["envelope_id"]] = waiter
        self.envelopes.append(envelope)
        try:
            await self.connections[-1].send_json(envelope)
            async with asyncio.timeout(timeout):
                return await waiter
        finally:
            self._pending.pop(envelope["envelope_id"], None)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected client to reconnect, as Slack does before recycling a host."""
        frame = {
            "type": "disconnect",
            "reason": reason,
            "num_connections": len(self.connections),
            "debug_info": {"host": "applink-fake"},
            "connection_info": {"app_id": self.app_id},
        }
        for ws in list(self.connections):
            with contextlib.suppress(ConnectionError):
                await ws.send_json(frame)

    async def close(self) -> None:
        for ws in list(self.connections):
            await ws.close()
        for waiter in self._pending.values():
            waiter.cancel()
        self._pending.clear()


async def connections_open(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    ticket = str(uuid.uuid4())
    fake.socket_mode.tickets.add(ticket)
    ws_base = fake.base_url.replace("http://", "ws://", 1)
    return {"ok": True, "url": f"{ws_base}link/?ticket={ticket}"}


METHODS: dict[str, Handler] = {"apps.connections.open": connections_open}
