"""`kibana`: idempotent Kibana calls through the bot's KibanaClient vs a raw aiohttp session, in this process.

The fake Kibana runs in its own process, so it does not share this event loop. The bot's client,
a raw `aiohttp.ClientSession` (the baseline), and two raw `httpx.AsyncClient`s (reported): one on
httpx's default transport, one on aiohttp (the `httpx-aiohttp` package: httpx's API at its
cheapest, the bound for a client that keeps it, as the bot's did before) take batches in turn,
the order rotating each round, with the same concurrency, the same connection limit and the same
requests: half `GET /api/alerting/rule/r`, its body read into the bot's `Rule` model by every side
(the bot's client returns one), half `POST …/alert/a/_mute` (204).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bench.figures import Result, Target, ratio
from bench.servers import ALERT_ID, KIBANA_KEY, RULE_ID
from bench.sizes import Size
from bench.stack import fakes
from bot.kibana.client import KibanaClient
from bot.kibana.connection import KEEPALIVE_SECONDS, MAX_CONNECTIONS, XSRF_VALUE
from bot.kibana.models import Rule

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


def _aiohttp_call(session: aiohttp.ClientSession, base_url: str) -> Call:
    rule_url = f"{base_url}/api/alerting/rule/{RULE_ID}"
    mute_url = f"{rule_url}/alert/{ALERT_ID}/_mute"

    async def call(i: int) -> None:
        if i % 2:
            async with session.post(mute_url, headers={"kbn-xsrf": XSRF_VALUE}) as response:
                response.raise_for_status()
                await response.read()
        else:
            async with session.get(rule_url) as response:
                response.raise_for_status()
                Rule.model_validate(await response.json())

    return call


def _httpx_call(client: httpx.AsyncClient) -> Call:
    rule_path = f"/api/alerting/rule/{RULE_ID}"
    mute_path = f"{rule_path}/alert/{ALERT_ID}/_mute"

    async def call(i: int) -> None:
        if i % 2:
            response = await client.post(mute_path, headers={"kbn-xsrf": XSRF_VALUE})
            response.raise_for_status()
        else:
            response = await client.get(rule_path)
            response.raise_for_status()
            Rule.model_validate(response.json())

    return call


async def run(size: Size) -> Result:
    per_batch = size.kibana_calls // size.kibana_rounds
    conc = size.kibana_concurrency
    seconds = {"bot": 0.0, "aiohttp": 0.0, "httpx": 0.0, "httpx_on_aiohttp": 0.0}
    headers = {"Authorization": f"ApiKey {KIBANA_KEY}", "Accept": "application/json"}
    async with fakes() as fake:
        url = fake.ready["kibana_url"]
        bot = KibanaClient(base_url=url, api_key=KIBANA_KEY)
        raw_httpx = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            trust_env=False,
        )
        httpx_on_aiohttp = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(10.0),
            transport=AiohttpTransport(
                limits=httpx.Limits(max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_SECONDS),
                trust_env=False,
            ),
            trust_env=False,
        )
        raw_aiohttp = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=10.0),
        )
        async with bot, raw_httpx, httpx_on_aiohttp, raw_aiohttp:
            calls = {
                "bot": _bot_call(bot),
                "aiohttp": _aiohttp_call(raw_aiohttp, url),
                "httpx": _httpx_call(raw_httpx),
                "httpx_on_aiohttp": _httpx_call(httpx_on_aiohttp),
            }
            for call in calls.values():  # warm-up: connections open, code paths warm
                await _batch(call, conc * 2, conc)
            sides = list(calls)
            for n in range(size.kibana_rounds):
                for side in sides[n % len(sides) :] + sides[: n % len(sides)]:
                    seconds[side] += await _batch(calls[side], per_batch, conc)
    total = per_batch * size.kibana_rounds
    rate = {side: total / s for side, s in seconds.items()}
    share = ratio(rate["bot"], rate["aiohttp"])
    figures = {
        "calls": total,
        "concurrency": conc,
        "rounds": size.kibana_rounds,
        "bot_calls_per_s": rate["bot"],
        "raw_aiohttp_calls_per_s": rate["aiohttp"],
        "raw_httpx_calls_per_s": rate["httpx"],
        "bot_vs_raw_httpx": ratio(rate["bot"], rate["httpx"]),
        "httpx_on_aiohttp_calls_per_s": rate["httpx_on_aiohttp"],
        "httpx_on_aiohttp_vs_raw_aiohttp": ratio(rate["httpx_on_aiohttp"], rate["aiohttp"]),
        "bot_vs_httpx_on_aiohttp": ratio(rate["bot"], rate["httpx_on_aiohttp"]),
        "bot_seconds": seconds["bot"],
        "raw_aiohttp_seconds": seconds["aiohttp"],
        "raw_httpx_seconds": seconds["httpx"],
        "httpx_on_aiohttp_seconds": seconds["httpx_on_aiohttp"],
    }
    targets = [Target("throughput ratio to raw aiohttp ≥ 0.8", share, 0.8, "min")]
    measure = (
        f"calls/s vs raw aiohttp (raw httpx: {rate['httpx']:,.0f}; httpx on aiohttp: "
        f"{rate['httpx_on_aiohttp']:,.0f}, {figures['httpx_on_aiohttp_vs_raw_aiohttp']:.2f}× raw aiohttp)"
    )
    return Result("kibana", measure, rate["bot"], rate["aiohttp"], share, targets, figures)
