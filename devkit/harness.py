"""Run the real bot in this asyncio loop on an ephemeral port: for tests, benchmarks and the demo."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn

from bot import aio
from bot.app import Runtime, create_runtime
from bot.server import create_asgi, server_config, start_listening
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler


@dataclass
class RunningBot:
    runtime: Runtime
    url: str
    socket: AsyncSocketModeHandler | None = None

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"


async def start_uvicorn(
    app: object, host: str = "127.0.0.1", port: int = 0, *, settings: Settings | None = None
) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve an ASGI app under uvicorn in this loop; returns the server, its task and its URL.
    With `settings`, uvicorn is configured exactly as `serve` configures it (the slow-client limits)."""
    if settings is not None:
        config = server_config(app, settings, host=host, port=port)
    else:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off", access_log=False)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = await start_listening(server)
    bound = server.servers[0].sockets[0].getsockname()
    return server, task, f"http://{bound[0]}:{bound[1]}"


async def stop_uvicorn(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, *, mode: str = "http", freeze_heap: bool = False, wait_for_kibana: bool = True
) -> AsyncIterator[RunningBot]:
    """The bot as `python -m bot serve` runs it, with its HTTP routes on 127.0.0.1 (ephemeral port):
    listening first, then the background jobs.

    `wait_for_kibana`: return once the start-up read of Kibana's version and licence has been
    tried, as tests want (what they assert then does not race it); `serve` does not wait for it,
    nor do the benchmarks. `freeze_heap`: freeze the start-up heap as `serve` does
    (`aio.freeze_startup_heap`), for a process that runs this one bot (the benchmarks); tests,
    which start many, leave it off."""
    runtime = await create_runtime(settings)
    socket = None
    if mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        socket = AsyncSocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
        await socket.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt's handler
    asgi = create_asgi(runtime, http_mode=mode == "http", socket=socket)
    server, task, url = await start_uvicorn(asgi, settings=settings)
    await runtime.start_background()
    if freeze_heap:
        aio.freeze_startup_heap_soon()
    try:
        if wait_for_kibana:
            await runtime.services.profile.first_read()
        yield RunningBot(runtime=runtime, url=url, socket=socket)
    finally:
        await stop_uvicorn(server, task)
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]
        await runtime.close()
