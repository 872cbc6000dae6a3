"""`startup`: from spawning the process to the first `/readyz` 200, the bot vs a bare Bolt app.

Both are started the same way (`python -m bench.servers bot|bolt`, each importing only
what it serves), alternately; the bot opens a fresh SQLite file each time. The fakes run
in their own process and stay up across starts.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.children import Child
from bench.figures import Result, Target, ratio
from bench.sizes import Size
from bench.stack import fakes, spawn_bolt, spawn_bot

READY_POLLS = 2000  # at 5 ms: 10 s


async def _ready_after(child: Child, client: httpx.AsyncClient) -> float:
    """Seconds from spawning `child` to its first /readyz 200."""
    url = f"{child.ready['url']}/readyz"
    for _ in range(READY_POLLS):
        try:
            if (await client.get(url)).status_code == 200:
                return time.perf_counter() - child.started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.005)
    raise RuntimeError(f"{child.name} was not ready within 10 s\n{child.log_tail()}")


async def run(size: Size) -> Result:
    bot_s: list[float] = []
    bolt_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        async with fakes() as fake, httpx.AsyncClient(trust_env=False, timeout=5) as client:
            for n in range(size.startup_rounds):
                order = ["bolt", "bot"] if n % 2 == 0 else ["bot", "bolt"]
                for kind in order:
                    if kind == "bot":
                        child = await spawn_bot(fake, Path(tmp) / f"start-{n}", name="startup-bot")
                    else:
                        child = await spawn_bolt(fake, name="startup-bolt")
                    try:
                        (bot_s if kind == "bot" else bolt_s).append(await _ready_after(child, client))
                    finally:
                        await child.stop()
    bot_median, bolt_median = sorted(bot_s)[len(bot_s) // 2], sorted(bolt_s)[len(bolt_s) // 2]
    share = ratio(bot_median, bolt_median)
    figures = {"rounds": size.startup_rounds, "bot_s": bot_s, "bare_bolt_s": bolt_s}
    targets = [Target("ratio ≤ 1.5", share, 1.5, "max")]
    return Result("startup", "start → /readyz (s, median)", bot_median, bolt_median, share, targets, figures)
