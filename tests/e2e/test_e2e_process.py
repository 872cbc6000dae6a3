"""`python -m bot …` as a real process: check, configuration errors, serve and a clean SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import platform
import re
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import httpx

from bot.store.schema_version import HEAD
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver
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
    assert [line.split(":")[0] for line in lines] == [
        "Kibana",
        "Kibana version",
        "Kibana licence",
        "Kibana APM agent keys",  # an API key and no KIBANA_AGENT_KEY_* credentials: a warning, not a failure
        "Alert intake",
        "Slack",
        "Database",
    ]
    assert all(": ok" in line for line in lines if not line.startswith(("Kibana APM agent keys", "Alert intake")))
    [intake] = [line for line in lines if line.startswith("Alert intake")]
    assert intake.startswith("Alert intake: WARNING — not the webhook (ALERT_WEBHOOK_TOKEN is unset)")
    assert "ELASTICSEARCH_URL is unset, so no alerts reach Slack" in intake


async def test_check_names_the_failing_service(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    env = env_for(kibana, slack, tmp_path, KIBANA_API_KEY="wrong-key")
    code, out, _ = await run_bot("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "Kibana: FAILED — credentials rejected (401)" in out
    assert "wrong-key" not in out


async def test_env_example_with_only_the_required_values_filled_in_is_a_working_configuration(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """The README's set-up: `cp .env.example .env`, fill in the tokens and KIBANA_URL. The settings left
    as `NAME=` mean "not set", not an empty value (which SLACK_APP_TOKEN, KIBANA_CA_CERT… refuse)."""
    filled = env_for(kibana, slack, tmp_path)
    lines = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name = line.split("=", 1)[0].strip()
        lines.append(f"{name}={filled[name]}" if "=" in line and name in filled else line)
    assert sum(line.endswith("=") for line in lines) >= 5  # the example does leave settings empty
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = ("SLACK_", "KIBANA_", "DATABASE_", "ALERT_", "HEALTH_", "ELASTICSEARCH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(settings)}  # the settings come from .env only
    code, out, err = await run_bot("check", env=env, cwd=tmp_path)
    assert "configuration error" not in err, err
    assert code == 0, out + err
    assert "Kibana: ok" in out and "Slack: ok" in out


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
        f"schema revision abc123 is newer than this kibana-chatops (knows up to {HEAD}); "
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


async def test_a_bad_access_policy_is_a_configuration_error(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """Invalid TOML, a policy that parses but is wrong, a file that is not text and a missing file:
    `serve` and `check` print one line naming ACCESS_POLICY, the file, the line and the problem, and exit 2."""
    broken = tmp_path / "broken.toml"
    broken.write_text('default_role = "viewer"\n\n[[grants]\nrole = "admin"\n')
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('default_role = "viewer"\n\n[[grants]]\nrole = "root"\nusers = ["U0ALICE"]\n')
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00default_role")
    missing = tmp_path / "missing.toml"
    expected = {
        broken: f"{broken}, line 3, column 9: invalid TOML: ",
        wrong: f"{wrong}, line 4: unknown role 'root'",
        binary: f"{binary}: the access policy is not UTF-8 text",
        missing: f"expected the path of a readable file ({missing} does not exist)",
    }
    for path, problem in expected.items():
        env = env_for(kibana, slack, tmp_path, ACCESS_POLICY=str(path))
        for command in (("serve", "--mode", "http", "--port", str(free_port())), ("check",)):
            code, out, err = await run_bot(*command, env=env, cwd=tmp_path)
            assert (code, out) == (2, ""), (command, path, err)
            [line] = err.splitlines()  # one line: no traceback, no warning, no unclosed session
            assert line.startswith(f"configuration error: ACCESS_POLICY: {problem}"), (command, line)
    assert kibana.requests == [] and slack.calls == []  # refused before talking to anyone


async def test_a_failure_late_in_start_up_closes_what_was_opened(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """HEALTH_SCHEDULE is checked after the store, the Kibana client and the Slack session are open:
    its error is still the only line (no "Unclosed client session" from a session left open)."""
    env = env_for(kibana, slack, tmp_path, HEALTH_CHANNEL="C0ALERTS", HEALTH_SCHEDULE="every 7m")
    code, out, err = await run_bot("serve", "--mode", "http", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("configuration error: HEALTH_SCHEDULE: expected a schedule such as "), err
    assert "cannot be kept exactly by a clock" in line


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], cwd: Path, *, mode: str) -> AsyncIterator[tuple[str, list[bytes]]]:
    """`python -m bot serve` until ready (GET /readyz answers 200); SIGTERM on leaving.
    Yields the base URL and a list that holds the process's stderr once it has ended."""
    port = free_port()
    command = ("serve", "--mode", mode, "--host", "127.0.0.1", "--port", str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base, captured = f"http://127.0.0.1:{port}", []
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the bot did not become ready")
        yield base, captured
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()
        captured += [out, err]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def socket_mode(env: dict[str, str], slack: FakeSlack) -> dict[str, str]:
    env = {**env, "SLACK_APP_TOKEN": slack.app_token}
    del env["SLACK_SIGNING_SECRET"]
    return env


async def test_a_clean_start_and_stop_logs_no_warning(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    """SLACK_BOT_TOKEN in the environment once made Bolt warn "As you gave client as well, token
    will be unused" on every start; a start and a SIGTERM now log nothing above INFO, in both modes."""
    env = env_for(kibana, slack, tmp_path)
    assert env["SLACK_BOT_TOKEN"] == slack.bot_token  # what Bolt used to read on its own
    for mode, mode_env in (("http", env), ("socket", socket_mode(env, slack))):
        async with serving(mode_env, tmp_path, mode=mode) as (base, captured), httpx.AsyncClient() as http:
            assert (await http.get(f"{base}/healthz")).text == "ok"
        out, err = (part.decode() for part in captured)
        logged = out + err
        assert "serving on http://127.0.0.1:" in logged and f"({mode} mode)" in logged
        assert "will be unused" not in logged
        noisy = [line for line in logged.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", line)]
        assert noisy == [], mode


async def test_a_fresh_process_has_samples_on_its_first_scrape(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """Before any Slack request the bot's own counters have no samples; the process, platform and
    GC collectors and the build-info gauge give the first scrape some."""
    env = env_for(kibana, slack, tmp_path)
    async with serving(env, tmp_path, mode="http") as (base, _), httpx.AsyncClient() as http:
        response = await http.get(f"{base}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {
        line.split("{")[0].split(" ")[0]: line for line in response.text.splitlines() if not line.startswith("#")
    }
    assert float(samples["process_cpu_seconds_total"].split()[-1]) > 0
    assert float(samples["process_resident_memory_bytes"].split()[-1]) > 0
    assert f'version="{platform.python_version()}"' in samples["python_info"]
    assert "python_gc_collections_total" in samples
    version = importlib.metadata.version("kibana-chatops")
    assert samples["chatops_build_info"] == (
        f'chatops_build_info{{python="{platform.python_version()}",version="{version}"}} 1.0'
    )
    assert "# TYPE chatops_slack_requests_total counter" in response.text


async def test_serve_is_ready_and_acts_while_kibana_withholds_its_version(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """`serve` listens before its background jobs start: the start-up read of Kibana's version and
    licence (which an unreachable Kibana makes last its timeouts and retries) holds back neither
    `/readyz` nor a command. It once ran first, and the bot answered nothing until it was done."""
    kibana.add_rule(id="r1", active_alerts=["a1"])
    kibana.fault("GET", r"/api/status", latency=60)  # longer than `serving` waits for /readyz
    env = env_for(kibana, slack, tmp_path, KIBANA_TIMEOUT="120")
    async with serving(env, tmp_path, mode="http") as (base, captured), httpx.AsyncClient() as http:
        asked = [r for r in kibana.requests if r.route == "/api/status"]
        answered = [e for e in kibana.exchanges if e.request.route == "/api/status"]
        assert len(asked) == 1 and answered == []  # ready while the read is still under way
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=f"{base}/slack/events", fake_slack=slack)
        response = await driver.post(driver.slash_command("mute r1 a1"), client=http)
        assert response.status_code == 200
        await slack.wait_for(lambda: any("muted alert `a1`" in str(r.body.get("text")) for r in slack.responses))
        assert [e for e in kibana.exchanges if e.request.route == "/api/status"] == []
    assert kibana.rule("r1")["muted_alert_ids"] == ["a1"]
    assert "Traceback" not in captured[1].decode()  # the read still under way was cancelled cleanly at SIGTERM


async def test_serve_on_a_port_in_use_exits_3_with_one_error_line(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """uvicorn says why it could not listen and exits 3; the server runs in a task of its own, and
    its exit comes out as the process's status, without a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = await run_bot(
            "serve",
            "--mode",
            "http",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            env=env_for(kibana, slack, tmp_path),
            cwd=tmp_path,
        )
    assert code == 3, err
    assert re.search(r"ERROR uvicorn.error .*address already in use", err), err
    assert "Traceback" not in err and "never retrieved" not in err
