"""Two bot replicas — real OS processes — sharing one PostgreSQL database, posting health reports
to one fake Slack (served by this test process) over several fire times: every report is posted
exactly once, and a subscription made through one replica fires from whichever replica wins."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver
from tests.databases import TEST_DATABASE_URL, postgres_schema

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

RUNNER = Path(__file__).with_name("replica_runner.py")
SECRET = "replicas-signing-secret"
KIBANA_KEY = "replicas-kibana-key"
POLICY = 'default_role = "responder"\n\n[[grants]]\nrole = "admin"\nusers = ["U0ALICE"]\n'


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_schema("replicas") as url:
        yield url


class Replica:
    """A replica process: its HTTP URL, and the JSON command channel of the runner script."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, replica: str) -> None:
        self.process = process
        self.url = url
        self.replica = replica

    @classmethod
    async def start(cls, env: dict[str, str]) -> Replica:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RUNNER),
            "--poll",
            "0.2",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        ready = await cls._read(process)
        return cls(process, ready["ready"], ready["replica"])

    @staticmethod
    async def _read(process: asyncio.subprocess.Process) -> dict[str, Any]:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        if not line:
            raise RuntimeError(f"replica exited with status {await process.wait()}")
        return dict(json.loads(line))

    async def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read(self.process)

    async def stop(self) -> None:
        """Ask the replica to quit (it shuts down like `serve` does); kill it only if it hangs."""
        if self.process.returncode is not None:
            return
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                stdin.write(b'{"op": "quit"}\n')
                await stdin.drain()
                stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        assert self.process.returncode == 0, f"replica {self.replica} exited with {self.process.returncode}"


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FakeSlack, FakeKibana, list[Replica]]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with FakeSlack() as slack, FakeKibana(api_keys=(KIBANA_KEY,)) as kibana:
        for channel, name in (("C0A", "team-a"), ("C0B", "team-b")):
            slack.add_channel(channel, name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "HEALTH_", "ALERT_"))}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            KIBANA_URL=kibana.url,
            KIBANA_API_KEY=KIBANA_KEY,
            DATABASE_URL=database_url,
            ACCESS_POLICY=str(policy),
            HEALTH_CHANNEL="C0ALERTS",  # declared in both replicas' settings: one subscription
            HEALTH_SCHEDULE="every 5m",
            LOG_LEVEL="WARNING",
        )
        replicas: list[Replica] = []
        try:
            replicas = list(await asyncio.gather(Replica.start(env), Replica.start(env)))
            yield slack, kibana, replicas
        finally:
            await asyncio.gather(*(r.stop() for r in replicas))


async def subscribe(slack: FakeSlack, replica: Replica, channel: str, words: str) -> str:
    driver = SlackDriver(signing_secret=SECRET, events_url=f"{replica.url}/slack/events", fake_slack=slack)
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(f"health subscribe {words}", channel_id=channel))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before, timeout=10)
    answer = str(slack.responses[before].body["text"])
    assert "subscribed this channel" in answer, answer
    return answer


async def wait_for_groups(replicas: list[Replica], expected: list[list[str]]) -> None:
    for _ in range(100):  # polls every 0.2 s: within a few seconds at most
        seen = [(await r.ask(op="groups"))["groups"] for r in replicas]
        if all(groups == expected for groups in seen):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"replicas did not converge on {expected}: {seen}")


async def test_each_report_is_posted_exactly_once_across_two_processes(
    world: tuple[FakeSlack, FakeKibana, list[Replica]],
) -> None:
    slack, kibana, replicas = world
    first, second = replicas
    assert first.replica != second.replica
    await subscribe(slack, first, "C0A", "every 5m")  # made through the first replica
    await subscribe(slack, second, "C0B", "every 10m --on-change --space ops")  # through the second
    await wait_for_groups(replicas, [["*/10 * * * *", "UTC"], ["*/5 * * * *", "UTC"]])

    start = datetime(2026, 1, 5, 10, 2, tzinfo=UTC)
    fire_times = [start + timedelta(minutes=3 + 5 * n) for n in range(6)]  # 10:05, 10:10, … 10:30
    winners: list[set[str]] = []
    for n, fire in enumerate(fire_times):
        if n == 4:  # at 10:25 ops turns unhealthy; the --on-change channel hears of it at 10:30
            kibana.add_rule(id="broken", space="ops", execution_status="error", error_reason="execute")
        answers = await asyncio.gather(*(r.ask(op="tick", at=fire.isoformat()) for r in replicas))
        outcomes = [a["results"] for a in answers]
        posted_by = [{sid for sid, outcome in o.items() if outcome == "posted"} for o in outcomes]
        assert not posted_by[0] & posted_by[1], f"posted twice at {fire}: {outcomes}"
        winners.append({r.replica for r, posted in zip(replicas, posted_by, strict=True) if posted})
        for sid in set(outcomes[0]) | set(outcomes[1]):  # every run: one winner, the other lost
            got = sorted(o[sid] for o in outcomes if sid in o)
            assert got.count("lost_claim") == len(got) - 1, f"{sid} at {fire}: {outcomes}"

    def posts(channel: str) -> list[str]:
        return [c.params["text"] for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel]

    assert len(posts("C0ALERTS")) == 6  # the subscription from configuration, every 5 minutes
    assert len(posts("C0A")) == 6  # added through the first replica
    # --on-change every 10 minutes: 10:10 (first run: posted), 10:20 (unchanged), 10:30 (warn: posted)
    assert [p.split(" (")[0] for p in posts("C0B")] == ["Kibana alerting health: ok", "Kibana alerting health: warn"]
    assert all(call.ok for call in slack.calls_to("chat.postMessage"))
    # one health read per space per fire time, whichever replica made it
    assert kibana.count("GET", "/api/alerting/_health", space="default") == 6
    assert kibana.count("GET", "/api/alerting/_health", space="ops") == 3
    assert set().union(*winners) <= {first.replica, second.replica}
