"""One bot replica as a real OS process, for the multi-replica tests.

Builds the runtime from the environment's settings exactly as `python -m bot serve` does,
serves HTTP on 127.0.0.1 (ephemeral port) and starts the background work (the health
scheduler, polling the store every `--poll` seconds). It prints one JSON line
`{"ready": url, "replica": id}` and then answers JSON commands read from stdin, one per line:

- `{"op": "tick", "at": "<ISO time>"}`: run every schedule firing at that instant (the
  explicit fire time stands in for the clock) -> `{"results": {subscription id: outcome}}`
- `{"op": "alerts_tick", "at": "<ISO time>"}`: one tick of the alert poller at that instant ->
  `{"spaces": {space: {"polled": bool, "outcomes": {...}}}}`
- `{"op": "mutes_tick", "at": "<ISO time>"}`: one look for timed mutes that end and reminders that
  are due at that instant (`MuteEndings.tick`) -> `{"ticked": at}`
- `{"op": "groups"}` -> `{"groups": [[cron, timezone], …]}` (the jobs this replica has)
- `{"op": "case_activity"}`: one round of bringing linked cases' Kibana activity into their threads
  -> `{"posted": n}`
- `{"op": "quit"}`: shut down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from bot.app import create_runtime
from bot.scheduler import HealthScheduler
from bot.server import create_asgi
from bot.settings import load_settings
from devkit.harness import start_uvicorn, stop_uvicorn
from handlers.alerting.mute_endings import MuteEndings
from handlers.alerts.polling import AlertPoller
from handlers.cases.sync_from_kibana import CaseActivity


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(poll_seconds: float, mutes_seconds: float | None) -> None:
    settings = load_settings()
    runtime = await create_runtime(settings)
    scheduler = runtime.part(HealthScheduler)
    assert isinstance(scheduler, HealthScheduler)
    scheduler.poll_seconds = poll_seconds  # before start: the poll loop reads it
    server, task, url = await start_uvicorn(create_asgi(runtime, http_mode=True, socket=None))
    await runtime.start_background()
    await runtime.services.profile.first_read()  # as running_bot does for tests: no start-up read races them
    # The test drives time with `tick`: real-clock runs would add a report whenever the test happens
    # to cross a 5-minute mark (the poll that syncs subscriptions keeps running).
    scheduler.apscheduler.pause()
    poller = runtime.part(AlertPoller)
    poller.paused = True  # likewise the alert poller: `alerts_tick` drives it
    endings = runtime.part(MuteEndings)
    if mutes_seconds is None:
        endings.paused = True  # and the timed mutes: `mutes_tick` drives them
    else:
        endings.check_seconds = mutes_seconds  # the real loop, on the real clock, looking often
    try:
        emit({"ready": url, "replica": runtime.services.replica})
        await answer_commands(scheduler, poller, endings, runtime.part(CaseActivity))
    finally:
        await stop_uvicorn(server, task)
        await runtime.close()


async def fire_jobs(scheduler: HealthScheduler[Any], at: datetime) -> dict[int, str]:
    """What APScheduler does at `at`: each job whose trigger fires then runs its schedule's tick."""
    results: dict[int, str] = {}
    for group in sorted(scheduler.groups()):
        if group.trigger().get_next_fire_time(None, at) == at:
            results |= await scheduler.tick(group, at)
    return results


async def answer_commands(
    scheduler: HealthScheduler[Any], poller: AlertPoller, endings: MuteEndings, cases: CaseActivity
) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(100_000):  # bounded: the test sends a few dozen commands
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command = json.loads(line)
        if command["op"] == "quit":
            return
        if command["op"] == "tick":
            results = await fire_jobs(scheduler, datetime.fromisoformat(command["at"]))
            emit({"results": {str(k): v for k, v in results.items()}})
        elif command["op"] == "alerts_tick":
            polls = await poller.tick(datetime.fromisoformat(command["at"]))
            emit({"spaces": {s: {"polled": p.polled, "outcomes": p.outcomes} for s, p in polls.items()}})
        elif command["op"] == "mutes_tick":
            await endings.tick(datetime.fromisoformat(command["at"]))
            emit({"ticked": command["at"]})
        elif command["op"] == "case_activity":
            emit({"posted": await cases.read_all()})
        elif command["op"] == "groups":
            emit({"groups": sorted([g.cron, g.timezone] for g in scheduler.groups())})
        else:
            emit({"error": f"unknown op {command['op']!r}"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between subscription polls")
    parser.add_argument("--mutes", type=float, default=None, help="seconds between looks for mutes that end")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.poll, arguments.mutes))
