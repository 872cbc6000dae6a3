"""`alerts_poll`: one tick of the alert poller over 100,000 active alerts, 500 subscriptions, 50 spaces.

The fake Elasticsearch runs in a process of its own (`FakeProcess`): its work, its memory and its
garbage collections are not the poller's (in one process, full collections over the fake's 100,000
documents landed at random in either thread and were most of both figures). The poller (the bot's
`AlertPoller`, its SQLite store, the official async client) runs on this process's loop, and its CPU
time is this thread's (`time.thread_time`). Each round the fake's rules run once (every active alert
document is written again, `@timestamp` the run's start), then:

- the poll: `AlertPoller.tick` — one search per space for all its subscriptions, of the documents
  new to it (after each rule's newest run read), each recognised or read and handed on to the
  channels it matches, the watermark stored. Handing on is counted, not sent to Slack (`process` is
  a stub): Slack's side is what the `fanout` benchmark measures;
- the baseline: the same searches (same bodies — the same read position, computed as the poller
  computes it —, same paging) made directly with `AsyncElasticsearch.search`, reading `hits.hits`.

They alternate which goes first. Round 0 hands every alert on (all are new); the rounds after
find them all already handed on (written again, unchanged), as a steady state does.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from elasticsearch import AsyncElasticsearch
from slack_sdk.web.async_client import AsyncWebClient

from bench.figures import Result, Target, ratio
from bench.sizes import Size
from bot import aio
from bot.alerts_index import ALERTS_INDEX, SORT, SOURCE_FIELDS, SpaceReading, build_query
from bot.alerts_index.positions import millis
from bot.services import Services
from bot.settings import load_settings
from bot.slack_identity import BotUser
from bot.store import Store
from bot.store.alert_groups import Recorded
from bot.store.alert_subscriptions import AlertFilterKind
from devkit.fake_elasticsearch import FakeElasticsearch
from handlers.alerts.polling import AlertPoller
from handlers.alerts.subscribed_channels import interest_of
from handlers.alerts.webhook import AlertDelivery
from handlers.shared.replies import Replies

RULES_PER_SPACE = 10
TARGET_RATIO = 1.5  # issue 25, item 9: the poll's CPU at most 1.5× the same searches made with the client


class FakeProcess:
    """The fake Elasticsearch served from a process of its own, driven over a pipe: `seed` and
    `rewrite` run there (its state belongs to that process)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of this process's threads or loop
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=serve_fake, args=(child,), name="fake-es", daemon=True)
        self._process.start()
        child.close()
        self.url, self.api_key = self.call("address")

    def call(self, *command: Any) -> Any:
        self._pipe.send(command)
        if not self._pipe.poll(600):
            raise TimeoutError(f"the fake Elasticsearch did not answer {command[0]} within 600 s")
        done, answer = self._pipe.recv()
        if not done:
            raise RuntimeError(f"the fake Elasticsearch failed on {command[0]}: {answer}")
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError, RuntimeError):
            self.call("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


def serve_fake(pipe: Connection) -> None:
    """The fake's process: serve it, and run what the pipe asks until "stop"."""
    aio.run(_serve(pipe))


async def _serve(pipe: Connection) -> None:
    fake = FakeElasticsearch()
    await fake.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            name, *arguments = await loop.run_in_executor(None, pipe.recv)
            try:
                answer: Any = None
                if name == "address":
                    answer = (fake.url, fake.api_key)
                elif name == "seed":
                    seed(fake, *arguments)
                    answer = len(fake.alerts)
                elif name == "rewrite":
                    rewrite(fake, *arguments)
                    fake.requests.clear()  # what it recorded: ~45 MB of answers a round at full size
                    fake.exchanges.clear()
                elif name != "stop":
                    raise ValueError(f"unknown command {name}")
            except Exception as error:
                pipe.send((False, repr(error)))
                continue
            pipe.send((True, answer))
            if name == "stop":
                return
    finally:
        await fake.stop()


def seed(fake: FakeElasticsearch, alerts: int, spaces: int, at: datetime) -> None:
    """`alerts` active alerts over `spaces` spaces, RULES_PER_SPACE rules each (two of them tagged)."""
    per_rule = max(1, alerts // (spaces * RULES_PER_SPACE))
    for s in range(spaces):
        for r in range(RULES_PER_SPACE):
            tags = ["team-a"] if r == 8 else ["team-b"] if r == 9 else ["prod"]
            for a in range(per_rule):
                fake.add_alert(
                    rule_id=f"r{s}-{r}",
                    instance_id=f"host-{a}",
                    space=f"space-{s}",
                    tags=tags,
                    rule_name=f"Rule {r}",
                    at=at,
                )


def rewrite(fake: FakeElasticsearch, at: datetime) -> None:
    """A rule run: every active alert document written again, unchanged but for `@timestamp`."""
    for alert in fake.alerts.values():
        alert.event_action, alert.timestamp = "active", at


@contextlib.contextmanager
def collector_as_the_bot_runs() -> Iterator[None]:
    """The garbage collector as `python -m bot serve` runs it (`bot.aio.freeze_startup_heap`: what
    start-up made frozen, young collections every 7,000 allocations), for the poll and the baseline
    alike; as it was, after."""
    thresholds = gc.get_threshold()
    aio.freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class Counted:
    """The delivery path, counted only: each alert handed on counts as recorded, new."""

    def __init__(self) -> None:
        self.handed = 0

    async def record(self, delivery: AlertDelivery, channel: str, *, fan_out: bool = False) -> Recorded:
        self.handed += 1
        return Recorded(outcome="new", group_id=self.handed, version=1, first=True, recovered=False)


@contextlib.asynccontextmanager
async def poller_for(fake: FakeProcess, workdir: Path, size: Size) -> AsyncIterator[tuple[AlertPoller, Store]]:
    settings = load_settings(
        slack_bot_token="xoxb-bench",
        elasticsearch_url=fake.url,
        elasticsearch_api_key=fake.api_key,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        kibana_timeout=60,  # the Elasticsearch client's request timeout: the baseline's, the fake answers 50 in turn
        _env_file=None,
    )
    store = await Store.open(settings.database_url)
    services = Services(
        settings=settings, kibana=cast(Any, None), store=store, access=cast(Any, None), slack=cast(Any, None)
    )
    replies = Replies(AsyncWebClient(token="xoxb-bench"), None, BotUser())  # Elasticsearch never fails here
    poller = AlertPoller(services, Counted(), replies)
    try:
        yield poller, store
    finally:
        await poller.close()
        await store.close()


async def direct_searches(es: AsyncElasticsearch, plan: list[tuple[str, dict[str, Any]]], page: int) -> int:
    """The poll's searches made directly: returns how many requests that took."""
    requests = 0
    for _space, query in plan:
        after: list[Any] | None = None
        while True:
            arguments: dict[str, Any] = {
                "index": ALERTS_INDEX,
                "query": query,
                "sort": SORT,
                "size": page,
                "track_total_hits": False,
                "source": SOURCE_FIELDS,
                "ignore_unavailable": True,
                "allow_no_indices": True,
            }
            if after is not None:
                arguments["search_after"] = after
            answer = await es.search(**arguments)
            requests += 1
            hits = answer.body["hits"]["hits"]
            if len(hits) < page:
                break
            after = hits[-1]["sort"]
    return requests


async def run(size: Size) -> Result:
    alerts, subscriptions, spaces = size.alerts_poll_alerts, size.alerts_poll_subscriptions, size.alerts_poll_spaces
    poll_cpu: list[float] = []
    direct_cpu: list[float] = []
    requests_per_tick: list[int] = []
    direct_requests: list[int] = []
    handed_on: list[int] = []
    read: list[int] = []
    problems: list[int] = []  # spaces not read in a tick (an Elasticsearch problem, backing off): should be none
    fake = FakeProcess()
    with tempfile.TemporaryDirectory(prefix="bench-alerts-poll-") as tmp, contextlib.closing(fake):
        async with poller_for(fake, Path(tmp), size) as (poller, store):
            for n in range(subscriptions):  # per space: rules first, then the two tags
                s, k = n % spaces, n // spaces
                tag = "team-a" if k % 2 == 0 else "team-b"
                kind: AlertFilterKind = "tag" if k >= RULES_PER_SPACE - 2 else "rule"
                value = tag if kind == "tag" else f"r{s}-{k}"
                await store.add_alert_subscription(
                    channel=f"C{n:05d}",
                    space=f"space-{s}",
                    kind=kind,
                    value=value,
                    created_by="U0BENCH",
                )
            subs = await store.list_alert_subscriptions()
            start = datetime.now(UTC)  # the rules run after the channels subscribed
            fake.call("seed", alerts, spaces, start)
            expected = expected_pairs(subs, alerts, spaces)
            direct = AsyncElasticsearch(fake.url, api_key=fake.api_key, request_timeout=60)
            try:
                with collector_as_the_bot_runs():  # the poll and the baseline alike
                    tick_at = start + timedelta(minutes=1)
                    for n in range(size.alerts_poll_rounds + 1):  # round 0 is every alert new
                        written = start + timedelta(seconds=n + 1)
                        if n:
                            fake.call("rewrite", written)
                        # The baseline's plan: what this tick will search, computed as the poller computes it.
                        now = tick_at + timedelta(seconds=10 * n)
                        plan = []
                        for s in range(spaces):
                            space = f"space-{s}"
                            space_subs = [x for x in subs if x.space == space]
                            floor = millis(min(x.created_at for x in space_subs) - poller.overlap)
                            state = await store.alert_poll_state(space)
                            watermark = floor if state is None or state.cursor_ms is None else state.cursor_ms
                            reading = copy.deepcopy(
                                poller.readings.get(space) or SpaceReading(searchable_within=poller.overlap)
                            )
                            read_from = reading.pass_from(watermark, floor, now).read_from
                            plan.append((space, build_query(space, interest_of(space_subs), read_from=read_from)))
                        if n == 0:
                            await direct_searches(direct, plan, poller.page_size)  # warm-up of the client
                        direct_first = n % 2 == 0

                        async def baseline(plan: list[tuple[str, dict[str, Any]]] = plan) -> None:
                            began = time.thread_time()
                            direct_requests.append(await direct_searches(direct, plan, poller.page_size))
                            direct_cpu.append(time.thread_time() - began)

                        if direct_first:
                            await baseline()
                        before = poller.searches
                        began = time.thread_time()
                        polls = await poller.tick(now)
                        poll_cpu.append(time.thread_time() - began)
                        requests_per_tick.append(poller.searches - before)
                        handed_on.append(sum(p.handed_on for p in polls.values()))
                        problems.append(sum(1 for p in polls.values() if p.problem or p.skipped))
                        read.append(sum(p.changes for p in polls.values()))
                        if not direct_first:
                            await baseline()
            finally:
                await direct.close()
    page_size = load_settings(slack_bot_token="xoxb-bench", _env_file=None).alerts_page_size
    steady_poll, steady_direct = poll_cpu[1:] or poll_cpu, direct_cpu[1:] or direct_cpu
    bot, base = sum(steady_poll) / len(steady_poll), sum(steady_direct) / len(steady_direct)
    share = ratio(bot, base)
    figures = {
        "alerts": alerts,
        "subscriptions": subscriptions,
        "spaces": spaces,
        "page_size": page_size,
        "rounds": size.alerts_poll_rounds,
        "es_requests_per_tick": requests_per_tick,
        "direct_requests_per_tick": direct_requests,
        "handed_on_per_tick": handed_on,
        "documents_read_per_tick": read,
        "spaces_not_read_per_tick": problems,
        "poll_cpu_s": poll_cpu,
        "direct_cpu_s": direct_cpu,
        "first_tick_ratio": ratio(poll_cpu[0], direct_cpu[0]),
        "steady_ratios": [ratio(p, d) for p, d in zip(steady_poll, steady_direct, strict=True)],
    }
    one_per_space = all(r == spaces for r in requests_per_tick)
    targets = [
        Target(f"poll CPU ≤ {TARGET_RATIO}× the same searches (steady mean)", share, TARGET_RATIO, "max"),
        Target(f"ES requests per tick = {spaces} (one per space)", float(max(requests_per_tick)), spaces, "eq"),
        Target("every tick one search per space", 1.0 if one_per_space else 0.0, 1.0, "eq"),
        Target("first tick handed on every subscribed alert", float(handed_on[0]), float(expected), "eq"),
    ]
    return Result("alerts_poll", "poll CPU (s)", bot, base, share, targets, figures)


def expected_pairs(subs: list[Any], alerts: int, spaces: int) -> int:
    """(alert, channel) pairs of round 0: the alerts of each subscribed rule, once per subscription."""
    per_rule = max(1, alerts // (spaces * RULES_PER_SPACE))
    pairs = 0
    for sub in subs:
        s = int(sub.space.split("-")[1])
        if sub.kind == "rule":
            pairs += per_rule
        else:
            pairs += per_rule * sum(
                1
                for r in range(RULES_PER_SPACE)
                if (r == 8 and sub.value == "team-a") or (r == 9 and sub.value == "team-b")
            )
        del s
    return pairs
