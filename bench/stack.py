"""Start what a benchmark needs, each in its own process, and wait on what they report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from bench.children import Child, running, spawn
from bench.servers import ALERT_CHANNEL, BOT_TOKEN, KIBANA_KEY, SIGNING_SECRET, WEBHOOK_TOKEN

POLL_SECONDS = 0.02
# Where the benchmarks that run several replicas find PostgreSQL (each run gets a schema of its own, dropped
# afterwards): BENCH_DATABASE_URL, else the tests' TEST_DATABASE_URL.
DATABASE_ENV = ("BENCH_DATABASE_URL", "TEST_DATABASE_URL")


@contextlib.asynccontextmanager
async def fakes(*, latency: float = 0.0, channels: int = 0, rate_limits: bool = False) -> AsyncIterator[Child]:
    """The devkit's fake Kibana and fake Slack (with Slack's rate limits when asked), in one process of their own."""
    flags = ["--rate-limits"] if rate_limits else []
    async with running(
        "fakes", "bench.servers", "fakes", "--latency", str(latency), "--channels", str(channels), *flags
    ) as child:
        yield child


def bot_settings(fakes: Child, workdir: Path, **overrides: object) -> dict[str, Any]:
    """The bot's settings (as `load_settings` keywords) against the fakes; a fresh SQLite file."""
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fakes.ready["slack_api_url"],
        "kibana_url": fakes.ready["kibana_url"],
        "kibana_public_url": "https://kibana.example.com",
        "kibana_api_key": KIBANA_KEY,
        "database_url": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "alert_webhook_token": WEBHOOK_TOKEN,
        "alert_channel": ALERT_CHANNEL,
        "log_level": "INFO",
    }
    values.update(overrides)
    return values


async def spawn_bot(fakes: Child, workdir: Path, name: str = "bot", **overrides: object) -> Child:
    """The real bot (HTTP mode, as `python -m bot serve` runs it) in its own process."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local directory, before the child starts
    values = bot_settings(fakes, workdir, **overrides)
    return await spawn(name, "bench.servers", "bot", "--settings-json", json.dumps(values))


async def spawn_bolt(fakes: Child, name: str = "bolt", *, with_stack: bool = False) -> Child:
    """The baseline: a bare Bolt AsyncApp (Starlette adapter, uvicorn) whose listener only acks;
    `with_stack`: importing the libraries DESIGN.md puts under the bot first (`servers.DESIGN_STACK`)."""
    return await spawn(
        name,
        "bench.servers",
        "bolt",
        "--token",
        BOT_TOKEN,
        "--secret",
        SIGNING_SECRET,
        "--slack-api-url",
        fakes.ready["slack_api_url"],
        *(["--with-stack"] if with_stack else []),
    )


@contextlib.asynccontextmanager
async def shared_database(workdir: Path, name: str) -> AsyncIterator[tuple[str, str]]:
    """A database several bot processes share: (DATABASE_URL, "postgresql" | "sqlite").

    PostgreSQL when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names one that answers, in a fresh schema
    (`name`_<random>), dropped on leaving; else a SQLite file in `workdir`, which is said in one line."""
    configured = next((os.environ[v] for v in DATABASE_ENV if os.environ.get(v)), "")
    if not configured:
        print(f"{name}: no PostgreSQL (set BENCH_DATABASE_URL): the replicas share a SQLite file", file=sys.stderr)
        yield f"sqlite+aiosqlite:///{workdir / 'bot.db'}", "sqlite"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(configured)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    schema = f"{name}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (SQLAlchemyError, OSError) as error:
        await admin.dispose()
        why = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(
            f"{name}: PostgreSQL at {url.render_as_string()} did not answer ({why}): the replicas share a SQLite file",
            file=sys.stderr,
        )
        yield f"sqlite+aiosqlite:///{workdir / 'bot.db'}", "sqlite"
        return
    try:
        yield (
            url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False),
            ("postgresql"),
        )
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def started(child: Child) -> AsyncIterator[Child]:
    try:
        yield child
    finally:
        await child.stop()


@contextlib.asynccontextmanager
async def loadgen() -> AsyncIterator[Child]:
    async with running("loadgen", "bench.loadgen") as child:
        yield child


async def load(
    generator: Child,
    fakes: Child,
    url: str,
    templates: list[dict[str, Any]],
    *,
    count: int,
    concurrency: int,
    request_timeout: float = 30.0,
) -> dict[str, Any]:
    """Send `count` requests made from `templates`, each with a fresh response_url on the fake Slack."""
    urls = await fakes.ask({"cmd": "response_urls", "count": count})
    job = {
        "cmd": "run",
        "url": url,
        "templates": templates,
        "count": count,
        "concurrency": concurrency,
        "offset": urls["start"],
        "response_url_prefix": urls["prefix"],
        "secret": SIGNING_SECRET,
        "timeout": request_timeout,
    }
    return await generator.ask(job, timeout=max(120.0, count * request_timeout / max(concurrency, 1)))


def answered(stats: Mapping[str, Any], method: str, route_part: str, status: int | None = None) -> int:
    """How many Kibana requests the fake answered, by method and a part of the route (and status)."""
    total = 0
    for key, n in stats["kibana_answered"].items():
        got_method, route, got_status = key.split(" ")
        if got_method == method and route_part in route and (status is None or int(got_status) == status):
            total += int(n)
    return total


async def wait_until(
    check: Callable[[], Any],
    *,
    timeout: float,  # noqa: ASYNC109 - a polling bound, not a cancellation scope
    interval: float = POLL_SECONDS,
) -> tuple[bool, Any]:
    """Poll the async `check()` until it returns a truthy value (bounded); (met, last value)."""
    deadline = time.monotonic() + timeout
    value = None
    for _ in range(int(timeout / interval) + 2):
        value = await check()
        if value:
            return True, value
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval)
    return False, value
