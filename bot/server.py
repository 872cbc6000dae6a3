"""The HTTP server (Starlette under uvicorn) and the Socket Mode runner.

Both modes serve the webhook, `/healthz`, `/readyz` and `/metrics`; HTTP mode
also serves `POST /slack/events`, where Bolt verifies Slack's signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message

from bot import aio, metrics
from bot.app import Endpoint, Runtime
from bot.logs import request_id
from bot.request_context import read_limited, start_request

if TYPE_CHECKING:  # imported only when Socket Mode is used: HTTP mode starts without it
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

SLACK_BODY_LIMIT = 1024 * 1024  # bytes; Slack's own payloads stay far below this
SIGNATURE_WINDOW = 60 * 5  # seconds either side of now, as Slack and slack_sdk define it


def create_asgi(runtime: Runtime, *, http_mode: bool, socket: AsyncSocketModeHandler | None = None) -> Starlette:
    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz(runtime, http_mode, socket), methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    if http_mode:
        routes.append(Route("/slack/events", _slack_events(runtime), methods=["POST"]))
    for path, endpoint in runtime.routes.items():
        routes.append(Route(path, _with_request_id(endpoint), methods=["POST"]))
    return Starlette(routes=routes)


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


async def _metrics(_: Request) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


def _readyz(runtime: Runtime, http_mode: bool, socket: AsyncSocketModeHandler | None) -> Endpoint:
    async def readyz(_: Request) -> Response:
        checks: dict[str, bool] = {"store": await runtime.services.store.ping()}
        if http_mode:
            checks["slack"] = runtime.settings.slack_signing_secret is not None
        if socket is not None:
            checks["slack_socket"] = await socket.client.is_connected()
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)

    return readyz


def _with_request_id(endpoint: Endpoint) -> Endpoint:
    """Every request (a webhook delivery, say) gets its own id in the log lines it causes."""

    async def with_request_id(request: Request) -> Response:
        token = start_request()
        try:
            return await endpoint(request)
        finally:
            request_id.reset(token)

    return with_request_id


def _replay(request: Request, body: bytes) -> Request:
    """A request whose body is `body` (already read), for Bolt's adapter to read again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def timestamp_problem(value: str | None, now: float) -> str | None:
    """Why Slack's request timestamp is unacceptable, or None.

    slack_sdk's verifier already rejects |now - ts| > 5 minutes (future ones too); this also
    turns a malformed timestamp into a 401 instead of an error inside Bolt.
    """
    if value is None or not value.strip():
        return "missing_timestamp"
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return "malformed_timestamp"
    if abs(now - int(text)) > SIGNATURE_WINDOW:
        return "stale_timestamp"
    return None


def _slack_events(runtime: Runtime) -> Endpoint:
    handler = AsyncSlackRequestHandler(runtime.app)

    def reject(reason: str, status: int, message: str) -> Response:
        metrics.SLACK_REJECTED.labels(reason).inc()
        log.warning("refused a request to /slack/events: %s", reason.replace("_", " "))
        return JSONResponse({"error": message}, status_code=status)

    async def slack_events(request: Request) -> Response:
        token = start_request()
        try:
            problem = timestamp_problem(request.headers.get("x-slack-request-timestamp"), time.time())
            if problem is not None:
                return reject(problem, 401, "invalid request")
            body = await read_limited(request, SLACK_BODY_LIMIT)
            if body is None:
                return reject("too_large", 413, "request body too large")
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return reject("not_utf8", 400, "the body is not UTF-8")
            return await handler.handle(_replay(request, body))
        finally:
            request_id.reset(token)

    return slack_events


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT once its own shutdown is done, which would end the process
    before the bot lets in-flight Kibana calls finish; this server only records the signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def serve(runtime: Runtime, *, mode: str, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT, then shut down cleanly (also when a start-up step fails)."""
    socket: AsyncSocketModeHandler | None = None
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            token = runtime.settings.slack_app_token
            assert token is not None
            socket = AsyncSocketModeHandler(runtime.app, token.get_secret_value())
        asgi = create_asgi(runtime, http_mode=mode == "http", socket=socket)
        config = uvicorn.Config(asgi, host=host, port=port, log_config=None, lifespan="off", access_log=False)
        server = GracefulServer(config)
        if socket is not None:
            await socket.connect_async()
            log.info("connected to Slack over Socket Mode")
        await runtime.start_background()
        aio.freeze_startup_heap_soon()
        log.info("serving on http://%s:%d (%s mode)", host, port, mode)
        await server.serve()
    finally:
        log.info("shutting down")
        if socket is not None:
            await socket.close_async()
        await runtime.close()
        await asyncio.sleep(0)
