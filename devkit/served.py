"""What every fake service of the devkit shares: served over real HTTP (aiohttp.web) on 127.0.0.1,
an ephemeral port unless one is named, one catch-all handler, used as an async context manager."""

from __future__ import annotations

import re
import ssl
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

from devkit.faults import Fault, Faults


class ServedFake:
    """Subclasses implement `_handle(request)` (taking their faults from `_faults`, which they set in
    `__init__`); `start()` returns the base URL."""

    client_max_size: ClassVar[int] = 16 * 1024 * 1024
    _runner: web.AppRunner | None = None
    ssl_context: ssl.SSLContext | None = None  # serve HTTPS with this context (TLS tests)
    url: str = ""
    _faults: Faults

    def fault(
        self,
        method: str,
        path_pattern: str,
        *,
        latency: float = 0,
        status: int | None = None,
        retry_after: float | None = None,
        drop: bool = False,
        times: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Make matching requests slow, fail, or drop. `path_pattern` is a regex (full match) on the
        path the fake routes (the fake Kibana's without its `/s/{space}` prefix); `method` may be "*"."""
        self._faults.add(Fault(method, re.compile(path_pattern), latency, status, retry_after, drop, times, body))

    def clear_faults(self) -> None:
        self._faults.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            return self.url
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner
        sockets = [s for s in runner.addresses if isinstance(s, tuple)]
        bound_port = sockets[0][1] if sockets else port
        scheme = "https" if self.ssl_context is not None else "http"
        self.url = f"{scheme}://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
