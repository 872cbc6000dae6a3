"""`python -m bot …` as a real process: check, configuration errors, serve and a clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import httpx

from bot.devkit.fake_kibana import FakeKibana
from bot.devkit.fake_slack import FakeSlack
from bot.devkit.slack_driver import SlackDriver
from bot.store.migrate import head_revision
from tests.e2e.conftest import KIBANA_KEY, SIGNING_SECRET

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "DATABASE_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        KIBANA_URL=kibana.url,
        KIBANA_API_KEY=KIBANA_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    env.update(extra)
    return env


async def run_bot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_passes_against_the_fakes(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    code, out, _ = await run_bot("check", env=env_for(kibana, slack, tmp_path), cwd=tmp_path)
    lines = out.strip().splitlines()
    assert code == 0, out
    assert [line.split(":")[0] for line in lines] == ["Kibana", "Slack", "Database"]
    assert all(": ok" in line for line in lines)


async def test_check_names_the_failing_service(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    env = env_for(kibana, slack, tmp_path, KIBANA_API_KEY="wrong-key")
    code, out, _ = await run_bot("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "Kibana: FAILED — credentials rejected (401)" in out
    assert "wrong-key" not in out


async def test_configuration_errors_exit_2_with_one_line(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    env = env_for(kibana, slack, tmp_path, KIBANA_TIMEOUT="soon")
    for command in ("serve", "check"):
        code, out, err = await run_bot(command, env=env, cwd=tmp_path)
        assert code == 2
        assert err.strip() == "configuration error: KIBANA_TIMEOUT: expected seconds, between 0 and 300"
        assert "Traceback" not in err + out
    env = env_for(kibana, slack, tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    code, _, err = await run_bot("serve", "--mode", "http", env=env, cwd=tmp_path)
    assert code == 2 and "SLACK_SIGNING_SECRET" in err


async def test_a_database_newer_than_the_bot_exits_2_with_one_line(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    with closing(sqlite3.connect(tmp_path / "bot.db")) as db, db:  # as a newer kibana-chatops would leave it
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('abc123')")
    refusal = (
        f"schema revision abc123 is newer than this kibana-chatops (knows up to {head_revision()}); "
        "upgrade the bot or point DATABASE_URL at another database"
    )
    env = env_for(kibana, slack, tmp_path)
    code, out, err = await run_bot("serve", "--mode", "http", env=env, cwd=tmp_path)
    assert (code, err.strip()) == (2, f"database: {refusal}"), out + err
    assert "Traceback" not in err + out
    code, out, err = await run_bot("check", env=env, cwd=tmp_path)
    assert code == 1 and f"Database: FAILED — {refusal}" in out.splitlines(), out + err
    assert "Traceback" not in err + out


async def test_serve_finishes_in_flight_work_on_sigterm(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    kibana.add_rule(id="r1", active_alerts=["a1"])
    kibana.fault("POST", r"/api/alerting/rule/r1/alert/a1/_mute", latency=2)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--mode",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env_for(kibana, slack, tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            assert (await http.get(f"{base}/healthz")).text == "ok"
            driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=f"{base}/slack/events", fake_slack=slack)
            response = await driver.post(driver.slash_command("mute r1 a1"), client=http)
            assert response.status_code == 200
        await asyncio.sleep(0.3)  # the Kibana call is now in flight
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    # The in-flight mute finished and its answer reached the user before the process ended.
    assert kibana.rule("r1")["muted_alert_ids"] == ["a1"]
    assert any("muted alert `a1`" in str(r.body.get("text")) for r in slack.responses)
    assert "Traceback" not in err.decode()
