"""Benchmark child processes: the fakes, the real bot, and the bare-Bolt baseline.

    python -m bench.servers fakes [--latency S] [--channels N] [--rate-limits]
    python -m bench.servers bot --settings-json JSON
    python -m bench.servers bolt --token T --secret S --slack-api-url URL [--with-stack]

Each prints one JSON line when it serves (its URLs), then answers JSON-line commands on
stdin (see bench/protocol.py) until stdin closes. Heavy modules are imported inside each
mode, so that the `startup` benchmark times only what that server needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from collections import Counter
from typing import Any

from bench.protocol import answer_commands, say
from bot import aio

SIGNING_SECRET = "bench-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"  # FakeSlack's default bot token
KIBANA_KEY = "bench-kibana-api-key"
WEBHOOK_TOKEN = "bench-webhook-token-abcdef"
COMMAND = "/kibana"
RULE_ID, ALERT_ID = "r", "a"
ALERT_CHANNEL = "C0ALERTS"
# What the bot cannot start without, as DESIGN.md names it: settings on pydantic-settings, the store
# on SQLAlchemy's asyncio extension (SQLite through aiosqlite, as the benchmarks run it), schedules on
# APScheduler, metrics on prometheus-client. `bolt --with-stack` imports these and nothing of the bot's:
# the `startup` benchmark's floor, what the bot would take if its own code cost nothing.
DESIGN_STACK = (
    "pydantic_settings",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "apscheduler.schedulers.asyncio",
    "apscheduler.triggers.cron",
    "prometheus_client",
)


def channel_id(n: int) -> str:
    return f"C{n:05d}"


async def serve_asgi(app: object) -> tuple[Any, asyncio.Task[None], str]:
    """uvicorn with exactly the configuration of devkit.harness.start_uvicorn (no bot import)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=False)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        task.result()
        raise RuntimeError("uvicorn did not start")
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return server, task, f"http://{host}:{port}"


# ---- the fakes ------------------------------------------------------------------------
async def run_fakes(latency: float, channels: int, rate_limits: bool = False) -> None:
    from devkit.fake_kibana import Exchange, FakeKibana
    from devkit.fake_slack import FakeSlack

    answered: Counter[str] = Counter()

    def on_exchange(exchange: Exchange) -> None:
        answered[f"{exchange.request.method} {exchange.request.route} {exchange.status}"] += 1

    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), on_exchange=on_exchange) as kibana,
        FakeSlack(rate_limits=rate_limits) as slack,
    ):
        kibana.add_rule(id=RULE_ID, name="CPU high", active_alerts=[ALERT_ID])
        if latency > 0:
            kibana.fault("*", r".*", latency=latency)
        for n in range(channels):
            slack.add_channel(channel_id(n), f"team-{n}")
        issued = 0

        async def handle(command: dict[str, Any]) -> dict[str, Any]:
            nonlocal issued
            what = command.get("cmd")
            if what == "stats":
                calls = Counter(call.method for call in slack.calls)
                failed = Counter(call.method for call in slack.calls if not call.ok)
                return {
                    "kibana_answered": dict(answered),
                    "kibana_received": len(kibana.requests),
                    "responses": len(slack.responses),
                    "responses_marked": sum(marker in str(r.body.get("text", "")) for r in slack.responses)
                    if (marker := command.get("marker"))
                    else 0,
                    "slack_calls": dict(calls),
                    "slack_failed": dict(failed),
                    "rate_limits": {
                        "calls": dict(slack.rate_limit_stats.calls),
                        "ratelimited": dict(slack.rate_limit_stats.ratelimited),
                        "early_calls": slack.rate_limit_stats.early_calls,
                    },
                }
            if what == "response_urls":
                start = issued
                for n in range(start, start + int(command["count"])):
                    slack.response_url(f"b{n}", channel=command.get("channel"))
                issued += int(command["count"])
                return {"prefix": f"{slack.base_url}response/b", "start": start}
            if what == "messages":
                return {"messages": slack.channel_messages(str(command["channel"]))}
            if what == "storm_state":
                from bench.storm_view import storm_state

                return storm_state(slack, command)
            if what == "slack_budgets":
                from bench.storm_view import slack_budgets

                return {"budgets": slack_budgets(slack)}
            raise ValueError(f"unknown command {what!r}")

        say({"kibana_url": kibana.url, "slack_api_url": slack.api_url})
        await answer_commands(handle)


# ---- the bot --------------------------------------------------------------------------
async def run_bot(values: dict[str, Any]) -> None:
    import gc

    aio.pause_gc_for_startup()  # as `python -m bot serve` does; running_bot(freeze_heap=True) resumes it
    from bot.logs import configure_logging
    from bot.settings import load_settings
    from devkit.harness import running_bot

    settings = load_settings(**values, _env_file=None)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values)
    async with running_bot(settings, freeze_heap=True, wait_for_kibana=False) as bot:  # as `serve`
        services = bot.runtime.services

        async def handle(command: dict[str, Any]) -> dict[str, Any]:
            if command.get("cmd") == "state":
                gc.collect()
                return {
                    "tasks": len(asyncio.all_tasks()),
                    "inflight": len(services.inflight),
                    # what the Python heap holds (pymalloc blocks) and how many threads run (each
                    # SQLite connection is a thread of aiosqlite's): RSS growth that these do not
                    # show is native memory (SQLite's page caches, malloc's per-thread arenas)
                    "python_blocks": sys.getallocatedblocks(),
                    "threads": threading.active_count(),
                }
            raise ValueError(f"unknown command {command.get('cmd')!r}")

        say({"url": bot.url})
        await answer_commands(handle)


# ---- the baseline: a bare Bolt app whose listener only acks, under the same server --------
async def run_bolt(token: str, secret: str, slack_api_url: str, with_stack: bool = False) -> None:
    if with_stack:  # with the bot's own start-up aid: no garbage collection while importing
        import importlib

        aio.pause_gc_for_startup()
        for module in DESIGN_STACK:
            importlib.import_module(module)
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_api_url, timeout=10),
        signing_secret=secret,
        process_before_response=False,
    )

    @app.command(COMMAND)
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def readyz(_: Request) -> Response:
        return JSONResponse({"ready": True})

    asgi = Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/readyz", readyz, methods=["GET"])]
    )
    server, task, url = await serve_asgi(asgi)
    if with_stack:
        aio.freeze_startup_heap_soon()

    async def handle(command: dict[str, Any]) -> dict[str, Any]:
        if command.get("cmd") == "state":
            return {"tasks": len(asyncio.all_tasks())}
        raise ValueError(f"unknown command {command.get('cmd')!r}")

    say({"url": url})
    try:
        await answer_commands(handle)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    modes = parser.add_subparsers(dest="mode", required=True)
    fakes = modes.add_parser("fakes")
    fakes.add_argument("--latency", type=float, default=0.0, help="seconds before every Kibana answer")
    fakes.add_argument("--channels", type=int, default=0, help="extra public channels C00000…")
    fakes.add_argument("--rate-limits", action="store_true", help="the fake Slack enforces Slack's rate limits")
    bot = modes.add_parser("bot")
    bot.add_argument("--settings-json", required=True)
    bolt = modes.add_parser("bolt")
    bolt.add_argument("--token", required=True)
    bolt.add_argument("--secret", required=True)
    bolt.add_argument("--slack-api-url", required=True)
    bolt.add_argument("--with-stack", action="store_true", help="import DESIGN_STACK first (startup's floor)")
    args = parser.parse_args(argv)
    # Every child runs on the loop `python -m bot serve` runs on (uvloop when installed): the
    # bare-Bolt baseline too, so that both sides have the same server, loop and HTTP parser.
    if args.mode == "fakes":
        aio.run(run_fakes(args.latency, args.channels, args.rate_limits))
    elif args.mode == "bot":
        profile = os.environ.get("BENCH_PROFILE_BOT")  # a path: cProfile the bot's process, its stats there
        if profile:
            import cProfile

            with cProfile.Profile() as profiler:
                aio.run(run_bot(json.loads(args.settings_json)))
            profiler.dump_stats(profile)
        else:
            aio.run(run_bot(json.loads(args.settings_json)))
    else:
        aio.run(run_bolt(args.token, args.secret, args.slack_api_url, args.with_stack))


if __name__ == "__main__":
    main()
