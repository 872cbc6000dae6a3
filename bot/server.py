"""The HTTP server (Starlette under uvicorn) and the Socket Mode runner.

Both modes serve the webhook, `/healthz`, `/readyz` and `/metrics`; HTTP mode
also serves `POST /slack/events`, where Bolt verifies Slack's signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from bot import aio, metrics, slack_replays
from bot.app import Endpoint, Runtime
from bot.http_limits import RequestCap, guarded_protocol
from bot.logs import request_id
from bot.request_context import BodyNotReceived, read_limited, start_request
from bot.settings import Settings

if TYPE_CHECKING:  # imported only when Socket Mode is used: HTTP mode starts without it
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

SLACK_BODY_LIMIT = 1024 * 1024  # bytes; Slack's own payloads stay far below this
SIGNATURE_WINDOW = 60 * 5  # seconds either side of now, as Slack and slack_sdk define it
LISTEN_POLL_SECONDS = 0.002  # uvicorn says it listens by a flag (`Server.started`), not an event
LISTEN_POLLS = 15_000  # 30 s


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


def unparseable(body: str, content_type: str) -> bool:
    """Whether a (signed) body is not one Bolt can read: bad JSON, or JSON nested too deeply."""
    try:
        if content_type.startswith("application/json"):
            json.loads(body)
            return False
        payload = parse_qs(body, keep_blank_values=True).get("payload")
        if payload:
            json.loads(payload[0])
    except (ValueError, RecursionError):
        return True
    return False


def _slack_events(runtime: Runtime) -> Endpoint:
    handler = AsyncSlackRequestHandler(runtime.app)
    secret = runtime.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret is not None else None
    store = runtime.services.store

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
            try:
                body = await read_limited(request, SLACK_BODY_LIMIT, deadline=runtime.settings.http_body_timeout)
            except BodyNotReceived as incomplete:
                return reject(incomplete.reason, incomplete.status, incomplete.message)
            if body is None:
                return reject("too_large", 413, "request body too large")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return reject("not_utf8", 400, "the body is not UTF-8")
            # The signature is checked before anything parses the body (Bolt parses first).
            timestamp = request.headers.get("x-slack-request-timestamp", "")
            signature = request.headers.get("x-slack-signature", "")
            if verifier is None or not verifier.is_valid(text, timestamp, signature):
                return reject("bad_signature", 401, "invalid request")
            if unparseable(text, request.headers.get("content-type", "")):
                return reject("unparseable", 400, "the body is not a Slack payload")
            checking = slack_replays.start_check(store, signature)  # listeners act only on its answer
            try:
                return await handler.handle(_replay(request, body))
            finally:
                slack_replays.end_check(checking)
        finally:
            request_id.reset(token)

    return slack_events


def server_config(app: object, settings: Settings, *, host: str, port: int, http: str = "auto") -> uvicorn.Config:
    """uvicorn's configuration with the slow-client limits of the settings (bot/http_limits.py): a
    deadline for the request head (HTTP_HEADER_TIMEOUT), the connections one client address may keep
    waiting for a head (HTTP_MAX_CONNECTIONS_PER_CLIENT), the keep-alive timeout, the requests served
    at once (HTTP_MAX_CONNECTIONS, counted from a complete head; more get 503) and the largest
    incomplete request head h11 buffers. The body deadline (HTTP_BODY_TIMEOUT) is the routes' own
    (`read_limited`), so every option holds whichever HTTP implementation uvicorn runs (`http`: auto,
    h11 or httptools). uvicorn's `limit_concurrency` is not used: it counts connections that have not
    sent a head, which let one client refuse everyone else."""
    protocol = import_from_string(HTTP_PROTOCOLS.get(http, http))
    return uvicorn.Config(
        RequestCap(app, settings.http_max_connections),  # type: ignore[arg-type]
        host=host,
        port=port,
        http=guarded_protocol(
            protocol,
            head_seconds=settings.http_header_timeout,
            per_client=settings.http_max_connections_per_client,
            head_bytes=settings.http_max_header_bytes,
        ),
        log_config=None,
        lifespan="off",
        access_log=False,
        timeout_keep_alive=max(1, round(settings.http_keep_alive_timeout)),
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
    )


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


class ServerNotStarted(Exception):
    """uvicorn could not start (it logged why) and asked for exit status `code`."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


async def _run_server(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as stop:  # uvicorn's way of saying it could not bind, raised in a task
        raise ServerNotStarted(stop.code) from None


async def start_listening(server: uvicorn.Server) -> asyncio.Task[None]:
    """Run `server` in a task of this loop and return once it listens. When it cannot (a port in
    use: uvicorn has logged why), exit with uvicorn's status as awaiting `server.serve()` would."""
    task = asyncio.create_task(_run_server(server), name="http-server")
    for _ in range(LISTEN_POLLS):
        if server.started or task.done():
            break
        await asyncio.sleep(LISTEN_POLL_SECONDS)
    if server.started:
        return task
    if not task.done():
        server.should_exit = True
    try:
        await task
    except ServerNotStarted as failed:
        raise SystemExit(failed.code) from None
    raise RuntimeError("the HTTP server did not start listening")


async def serve(runtime: Runtime, *, mode: str, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT, then shut down cleanly (also when a start-up step fails).

    The server listens before the background jobs start: nothing they wait for (the first read of
    Kibana's version and licence, which an unreachable Kibana makes last its timeouts and retries)
    holds back `/readyz`, Slack's requests or Kibana's webhooks."""
    socket: AsyncSocketModeHandler | None = None
    serving: asyncio.Task[None] | None = None
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            token = runtime.settings.slack_app_token
            assert token is not None
            socket = AsyncSocketModeHandler(runtime.app, token.get_secret_value())
        asgi = create_asgi(runtime, http_mode=mode == "http", socket=socket)
        config = server_config(asgi, runtime.settings, host=host, port=port)
        server = GracefulServer(config)
        if socket is not None:
            await socket.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt's handler
            log.info("connected to Slack over Socket Mode")
        serving = await start_listening(server)
        log.info("serving on http://%s:%d (%s mode)", host, port, mode)
        await runtime.start_background()
        aio.freeze_startup_heap_soon()
        await serving
    finally:
        log.info("shutting down")
        if serving is not None and not serving.done():  # a background job failed to start
            server.should_exit = True
            with contextlib.suppress(Exception):
                await serving
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]
        await runtime.close()
        await asyncio.sleep(0)
