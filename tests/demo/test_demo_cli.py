"""`python -m devkit.demo` as a user runs it: no Slack settings needed, prints the page's
address, stops cleanly on Ctrl-C; a configuration error is one line and exit status 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    """The environment of a newcomer: no Slack or Kibana settings at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "ALERT_", "DATABASE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_demo_starts_without_slack_settings_prints_its_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devkit.demo", "--port", "0"],
        cwd=tmp_path,  # no .env file here, and the store stays out of the working directory
        env={**clean_env(), "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the demo is up (or the process died)
        match = re.search(r"open (http://127\.0\.0\.1:\d+/)", first)
        assert match, f"no address in {first!r}; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        page = httpx.get(match.group(1), timeout=10.0)
        assert page.status_code == 200 and "kibana-chatops demo" in page.text
        health = httpx.post(f"{match.group(1)}api/command", json={"text": "health"}, timeout=10.0)
        assert health.json() == {"ok": True}

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
        assert list(tmp_path.iterdir()) == []  # the temporary store is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_a_bad_kibana_setting_is_one_message_and_exit_status_2(tmp_path: Path) -> None:
    env = {**clean_env(), "PYTHONPATH": str(REPO), "KIBANA_PASSWORD": "secret-without-user"}
    done = subprocess.run(
        [sys.executable, "-m", "devkit.demo", "--kibana-url", "http://127.0.0.1:9", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "KIBANA_USERNAME" in done.stderr and "Traceback" not in done.stderr
    assert "secret-without-user" not in done.stderr + done.stdout
