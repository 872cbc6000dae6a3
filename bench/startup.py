"""`startup`: from spawning the process to the first `/readyz` 200, the bot vs a bare Bolt app.

Both are started the same way (`python -m bench.servers bot|bolt`, each importing only
what it serves), in rotating order. The bot starts twice per round: on a new SQLite file
(it creates the schema) and again on that file (a restart: a deploy, a crash, a new replica
on a shared database), which is the ratio's case; the first start is reported beside it.
The fakes run in their own process and stay up across starts.

Beside them, a floor: the same bare Bolt app that first imports the libraries DESIGN.md puts under
the bot (`servers.DESIGN_STACK`: pydantic-settings, SQLAlchemy's asyncio extension with the SQLite
dialect, APScheduler, prometheus-client) and nothing of the bot's. Its ratio is the best the bot
could reach on that stack if its own code, its store and its app cost nothing.

The project's modules are compiled to bytecode first, as installing the package does (pip
compiles what it installs), so that neither side compiles source: the baseline's modules are
all installed ones, and with PYTHONDONTWRITEBYTECODE set the tree's would be compiled at
every start (0.1–0.2 s here).
"""

from __future__ import annotations

import asyncio
import compileall
import tempfile
import time
from pathlib import Path

import httpx

from bench.children import ROOT, Child
from bench.figures import Result, Target, ratio
from bench.servers import DESIGN_STACK
from bench.sizes import Size
from bench.stack import fakes, spawn_bolt, spawn_bot

READY_POLLS = 2000  # at 5 ms: 10 s
PACKAGES = ("bot", "handlers", "bench")
KINDS = ("bolt", "bolt_stack", "bot_new", "bot_restart")
# The restart needs the new database first; the baseline and the floor go before, between or after them.
ORDERS = (
    ("bolt", "bot_new", "bolt_stack", "bot_restart"),
    ("bot_new", "bolt_stack", "bolt", "bot_restart"),
    ("bolt_stack", "bot_new", "bot_restart", "bolt"),
)


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


def compile_tree() -> None:
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def run(size: Size) -> Result:
    compile_tree()
    seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        async with fakes() as fake, httpx.AsyncClient(trust_env=False, timeout=5) as client:
            for n in range(size.startup_rounds):
                workdir = Path(tmp) / f"start-{n}"
                for kind in ORDERS[n % len(ORDERS)]:
                    if kind.startswith("bolt"):
                        child = await spawn_bolt(fake, name=f"startup-{kind}", with_stack=kind == "bolt_stack")
                    else:
                        child = await spawn_bot(fake, workdir, name=f"startup-{kind.replace('_', '-')}")
                    try:
                        seconds[kind].append(await _ready_after(child, client))
                    finally:
                        await child.stop()
    bolt, floor = _median(seconds["bolt"]), _median(seconds["bolt_stack"])
    restart, new = _median(seconds["bot_restart"]), _median(seconds["bot_new"])
    share = ratio(restart, bolt)
    figures = {
        "rounds": size.startup_rounds,
        "bot_s": seconds["bot_restart"],
        "bot_new_database_s": seconds["bot_new"],
        "bare_bolt_s": seconds["bolt"],
        "bot_new_database_ratio": ratio(new, bolt),
        "stack_floor_s": seconds["bolt_stack"],
        "stack_floor_ratio": ratio(floor, bolt),
        "stack_floor_modules": list(DESIGN_STACK),
    }
    targets = [Target("ratio ≤ 1.5", share, 1.5, "max")]
    measure = (
        f"start → /readyz (s, median; restart; new database: {new:.2f} s, {ratio(new, bolt):.2f}×; "
        f"floor, bare Bolt importing DESIGN's stack: {floor:.2f} s, {ratio(floor, bolt):.2f}×)"
    )
    return Result("startup", measure, restart, bolt, share, targets, figures)
