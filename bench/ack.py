"""`ack`: signed `/kibana mute r a` commands while Kibana takes seconds to answer each.

The bot (its own process) and the baseline — a bare Bolt AsyncApp under the same server
whose listener only acks (its own process) — take alternating batches from one aiohttp
load generator (its own process). After each bot batch we wait until the fake Kibana has
answered every mute and the fake Slack has received every response_url post.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench import slack_requests
from bench.children import Child
from bench.figures import Result, Target, percentile, ratio
from bench.sizes import Size
from bench.stack import answered, fakes, load, loadgen, spawn_bolt, spawn_bot, started, wait_until

MUTED = "muted alert"
SLACK_ACK_LIMIT = 3.0
COMPLETION_TIMEOUT = 150.0


async def _completion(fake: Child, before: dict[str, Any], expected: int) -> tuple[bool, dict[str, Any]]:
    """Wait until `expected` more mutes were answered 204 and `expected` more replies say so."""
    want_mutes = answered(before, "POST", "_mute", 204) + expected
    want_replies = before["responses_marked"] + expected

    async def check() -> dict[str, Any] | None:
        now = await fake.ask({"cmd": "stats", "marker": MUTED})
        done = answered(now, "POST", "_mute", 204) >= want_mutes and now["responses_marked"] >= want_replies
        return now if done else None

    met, last = await wait_until(check, timeout=COMPLETION_TIMEOUT, interval=0.05)
    return met, last or await fake.ask({"cmd": "stats", "marker": MUTED})


async def run(size: Size) -> Result:
    per_round = size.ack_requests // size.ack_rounds
    conc = size.ack_concurrency
    templates = [slack_requests.command()]
    bot_acks: list[float] = []
    base_acks: list[float] = []
    completion: list[float] = []
    failures: dict[str, int] = {}
    # CPU seconds: the baseline's while its batches were sent; the bot's while its batches were sent
    # (acks and whatever ran beside them) and until every mute was answered and replied to
    cpu = {"baseline": 0.0, "bot_acks": 0.0, "bot_all": 0.0}
    all_completed = True
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        async with fakes(latency=size.ack_latency) as fake, loadgen() as gen:
            bot = await spawn_bot(fake, Path(tmp))
            bolt = await spawn_bolt(fake)
            async with started(bot), started(bolt):
                # warm-up (not measured): Bolt's first request calls auth.test, connections open
                await load(gen, fake, bolt.ready["url"], templates, count=conc, concurrency=conc)
                before = await fake.ask({"cmd": "stats", "marker": MUTED})
                await load(gen, fake, bot.ready["url"], templates, count=conc, concurrency=conc)
                warmed, _ = await _completion(fake, before, conc)
                if not warmed:  # the first requests after a start must be answered too
                    all_completed = False
                    failures["unfinished warm-up mutes"] = conc
                for _ in range(size.ack_rounds):
                    used = bolt.cpu_seconds()
                    base = await load(gen, fake, bolt.ready["url"], templates, count=per_round, concurrency=conc)
                    cpu["baseline"] += bolt.cpu_seconds() - used
                    base_acks += base["latencies"]
                    before = await fake.ask({"cmd": "stats", "marker": MUTED})
                    used = bot.cpu_seconds()
                    mine = await load(gen, fake, bot.ready["url"], templates, count=per_round, concurrency=conc)
                    cpu["bot_acks"] += bot.cpu_seconds() - used
                    bot_acks += mine["latencies"]
                    met, _ = await _completion(fake, before, per_round)
                    cpu["bot_all"] += bot.cpu_seconds() - used
                    completion.append(time.time() - mine["first_send"])
                    all_completed &= met and not mine["errors"] and mine["statuses"] == {"200": per_round}
                    for key, n in {**mine["errors"], **{f"HTTP {k}": v for k, v in mine["statuses"].items()}}.items():
                        if key != "HTTP 200":
                            failures[key] = failures.get(key, 0) + n
                    if not met:
                        failures["unfinished mutes"] = failures.get("unfinished mutes", 0) + per_round
                final = await fake.ask({"cmd": "stats", "marker": MUTED})
    p99, base_p99 = percentile(bot_acks, 99), percentile(base_acks, 99)
    slowest = max(bot_acks, default=float("nan"))
    figures = {
        "requests": per_round * size.ack_rounds,
        "concurrency": conc,
        "kibana_latency_s": size.ack_latency,
        "rounds": size.ack_rounds,
        "bot_p50_s": percentile(bot_acks, 50),
        "bot_p99_s": p99,
        "bot_max_s": slowest,
        "baseline_p50_s": percentile(base_acks, 50),
        "baseline_p99_s": base_p99,
        "baseline_max_s": max(base_acks, default=float("nan")),
        "completed_s": completion,  # per bot batch: first request sent → last mute answered and replied
        "kibana_mutes_answered_204": answered(final, "POST", "_mute", 204),
        "kibana_mutes_answered_other": answered(final, "POST", "_mute") - answered(final, "POST", "_mute", 204),
        "replies_saying_muted": final["responses_marked"],
        "failures": failures,
        "cpu_ms_per_request": {key: 1000 * value / max(1, per_round * size.ack_rounds) for key, value in cpu.items()},
    }
    targets = [
        Target("p99 ratio ≤ 2", ratio(p99, base_p99), 2.0, "max"),
        Target("no ack over 3 s", slowest, SLACK_ACK_LIMIT, "max"),
        Target("every call completed", 1.0 if all_completed else 0.0, 1.0, "eq"),
    ]
    return Result("ack", "ack p99 (s)", p99, base_p99, ratio(p99, base_p99), targets, figures)
