"""`kibana`: idempotent Kibana calls through the bot's KibanaClient vs raw httpx, in this process.

The fake Kibana runs in its own process, so it does not share this event loop. Both sides
alternate batches (raw, bot, bot, raw, …) with the same concurrency, the same connection
limits and the same requests: half `GET /api/alerting/rule/r` (the body read as JSON; the bot
also validates it into its pydantic model), half `POST …/alert/a/_mute` (204).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.figures import Result, Target, ratio
from bench.servers import ALERT_ID, KIBANA_KEY, RULE_ID
from bench.sizes import Size
from bench.stack import fakes
from bot.kibana.client import KibanaClient
from bot.kibana.connection import MAX_CONNECTIONS, XSRF_VALUE

Call = Callable[[int], Awaitable[None]]


async def _batch(call: Call, count: int, concurrency: int) -> float:
    """Seconds to make `count` calls, `concurrency` at a time."""
    indexes = iter(range(count))

    async def worker() -> None:
        for i in indexes:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def _bot_call(client: KibanaClient) -> Call:
    async def call(i: int) -> None:
        if i % 2:
            await client.mute_alert(RULE_ID, ALERT_ID)
        else:
            await client.get_rule(RULE_ID)

    return call


def _raw_call(client: httpx.AsyncClient) -> Call:
    rule_path = f"/api/alerting/rule/{RULE_ID}"
    mute_path = f"{rule_path}/alert/{ALERT_ID}/_mute"

    async def call(i: int) -> None:
        if i % 2:
            response = await client.post(mute_path, headers={"kbn-xsrf": XSRF_VALUE})
            response.raise_for_status()
        else:
            response = await client.get(rule_path)
            response.raise_for_status()
            response.json()

    return call


async def run(size: Size) -> Result:
    per_batch = size.kibana_calls // size.kibana_rounds
    conc = size.kibana_concurrency
    bot_seconds = raw_seconds = 0.0
    async with fakes() as fake:
        url = fake.ready["kibana_url"]
        bot = KibanaClient(base_url=url, api_key=KIBANA_KEY)
        raw = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"ApiKey {KIBANA_KEY}", "Accept": "application/json"},
            timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            trust_env=False,
        )
        async with bot, raw:
            bot_call, raw_call = _bot_call(bot), _raw_call(raw)
            await _batch(bot_call, conc * 2, conc)  # warm-up: connections open, code paths warm
            await _batch(raw_call, conc * 2, conc)
            for n in range(size.kibana_rounds):
                order = [("raw", raw_call), ("bot", bot_call)]
                for side, call in order if n % 2 == 0 else reversed(order):
                    seconds = await _batch(call, per_batch, conc)
                    if side == "bot":
                        bot_seconds += seconds
                    else:
                        raw_seconds += seconds
    calls = per_batch * size.kibana_rounds
    bot_rate, raw_rate = calls / bot_seconds, calls / raw_seconds
    share = ratio(bot_rate, raw_rate)
    figures = {
        "calls": calls,
        "concurrency": conc,
        "rounds": size.kibana_rounds,
        "bot_calls_per_s": bot_rate,
        "raw_httpx_calls_per_s": raw_rate,
        "bot_seconds": bot_seconds,
        "raw_httpx_seconds": raw_seconds,
    }
    targets = [Target("throughput ratio ≥ 0.9", share, 0.9, "min")]
    return Result("kibana", "calls/s", bot_rate, raw_rate, share, targets, figures)
