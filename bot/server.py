"""The HTTP server (Starlette under uvicorn) and the Socket Mode runner.

Both modes serve the webhook, `/healthz`, `/readyz` and `/metrics`; HTTP mode
also serves `POST /slack/events`, where Bolt verifies Slack's signature.
"""

from __future__ import annotations

import asyncio
import logging
import time

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.app import Endpoint, Runtime

log = logging.getLogger(__name__)

SLACK_BODY_LIMIT = 1024 * 1024  # bytes; Slack's own payloads stay far below this


def create_asgi(runtime: Runtime, *, http_mode: bool, socket: AsyncSocketModeHandler | None = None) -> Starlette:
    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz(runtime, http_mode, socket), methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    if http_mode:
        routes.append(Route("/slack/events", _slack_events(runtime), methods=["POST"]))
    for path, endpoint in runtime.routes.items():
        routes.append(Route(path, endpoint, methods=["POST"]))
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


def _slack_events(runtime: Runtime) -> Endpoint:
    handler = AsyncSlackRequestHandler(runtime.app)

    async def slack_events(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > SLACK_BODY_LIMIT:
            return JSONResponse({"error": "request body too large"}, status_code=413)
        started = time.perf_counter()
        response = await handler.handle(request)
        metrics.SLACK_ACK_SECONDS.labels("http").observe(time.perf_counter() - started)
        metrics.SLACK_REQUESTS.labels("http", str(response.status_code)).inc()
        return response

    return slack_events


async def serve(runtime: Runtime, *, mode: str, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT, then shut down cleanly."""
    socket: AsyncSocketModeHandler | None = None
    if mode == "socket":
        token = runtime.settings.slack_app_token
        assert token is not None
        socket = AsyncSocketModeHandler(runtime.app, token.get_secret_value())
    asgi = create_asgi(runtime, http_mode=mode == "http", socket=socket)
    config = uvicorn.Config(asgi, host=host, port=port, log_config=None, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    if socket is not None:
        await socket.connect_async()
        log.info("connected to Slack over Socket Mode")
    await runtime.start_background()
    log.info("serving on http://%s:%d (%s mode)", host, port, mode)
    try:
        await server.serve()
    finally:
        log.info("shutting down")
        if socket is not None:
            await socket.close_async()
        await runtime.close()
        await asyncio.sleep(0)
