"""KIBANA_IDENTITY=person as a real process: the settings it needs, a CREDENTIALS_KEY that does not
decrypt the stored links, `check`, and a scan of the database file and of DEBUG JSON logs for a
person's key (issue 26)."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.credentials import Credentials, PersonKey
from bot.people import PersonLinks
from bot.store import Store
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver
from handlers.access.connect import KEY_BLOCK
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.test_e2e_process import env_for, free_port, run_bot

SECRET = "alice-secret-0123456789abcdef"
ALICE_KEY = base64.b64encode(f"ab12cd34ef:{SECRET}".encode()).decode()


async def store_a_link(tmp_path: Path, credentials_key: str) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        key = PersonKey(team_id="T0001", user_id="U0ALICE", api_key=SecretStr(ALICE_KEY), key_id="ab12cd34ef")
        await PersonLinks(store, Credentials(SecretStr(credentials_key))).connect(key)
    finally:
        await store.close()


def database_bytes(folder: Path) -> bytes:
    """The SQLite database file and its WAL, as a dump of them would hold."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("bot.db*")))


async def test_person_mode_without_credentials_key_exits_2_with_one_line(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    env = env_for(kibana, slack, tmp_path, KIBANA_IDENTITY="person")
    for command in ("serve", "check"):
        code, out, err = await run_bot(command, env=env, cwd=tmp_path)
        assert code == 2, out + err
        [line] = err.strip().splitlines()
        assert line.startswith("configuration error: CREDENTIALS_KEY: expected one or more Fernet keys")
        assert "Traceback" not in out + err


async def test_a_wrong_credentials_key_exits_2_with_one_line_and_check_says_so(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    used, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    await store_a_link(tmp_path, used)
    env = env_for(kibana, slack, tmp_path, KIBANA_IDENTITY="person", CREDENTIALS_KEY=wrong)
    code, out, err = await run_bot("serve", "--mode", "http", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert code == 2, out + err
    [line] = err.strip().splitlines()
    assert line.startswith("configuration error: CREDENTIALS_KEY: expected the key(s) that encrypted the stored")
    assert "1 of 1 do not decrypt" in line and wrong not in line and "Traceback" not in out + err

    code, out, _ = await run_bot("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "Kibana identity: FAILED — person" in out and "does not decrypt 1 of them" in out

    env["CREDENTIALS_KEY"] = f"{wrong},{used}"  # the new key first, the old one kept: a rotation
    code, out, _ = await run_bot("check", env=env, cwd=tmp_path)
    assert code == 0, out
    [identity] = [line for line in out.splitlines() if line.startswith("Kibana identity")]
    assert identity == (
        "Kibana identity: ok — person (each person's request carries their own Kibana API key); "
        "1 person has linked their own API key; CREDENTIALS_KEY decrypts them all"
    )


async def test_no_persons_key_in_the_database_file_nor_in_debug_json_logs(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    kibana.add_rule(id="r1", active_alerts=["a1"])
    kibana.add_person(ALICE_KEY, "alice", {"*": {"rules": "all"}})
    port = free_port()
    env = env_for(
        kibana,
        slack,
        tmp_path,
        KIBANA_IDENTITY="person",
        CREDENTIALS_KEY=Fernet.generate_key().decode(),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
    )
    log_file = (tmp_path / "bot.log").open("wb")  # a file, not a pipe: DEBUG logs outgrow a pipe's buffer
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "serve", "--mode", "http", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        cwd=tmp_path,
        stdout=log_file,
        stderr=log_file,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=f"{base}/slack/events", fake_slack=slack)
            assert (await driver.post(driver.slash_command("connect"), client=http)).status_code == 200
            [opened] = await slack.wait_for("views.open")
            view = slack.views[opened.response["view"]["id"]]
            submitted = await driver.post(driver.view_submission(view, {KEY_BLOCK: {"value": ALICE_KEY}}), client=http)
            assert submitted.status_code == 200 and not submitted.content
            await slack.wait_for(lambda: any("Connected with" in str(r.body.get("text")) for r in slack.responses))
            assert (await driver.post(driver.slash_command("mute r1 a1"), client=http)).status_code == 200
            await slack.wait_for(lambda: kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"))
            kibana.revoke(ALICE_KEY)  # a 401 to the person's key is logged too
            assert (await driver.post(driver.slash_command("rule r1"), client=http)).status_code == 200
            await slack.wait_for(lambda: any("401" in str(r.body.get("text")) for r in slack.responses))
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
        log_file.close()
    logs = (tmp_path / "bot.log").read_text()
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any(r.get("level") == "DEBUG" for r in records), logs[:2000]  # JSON logs, at DEBUG
    assert "Traceback" not in logs
    assert [r.headers["authorization"] for r in kibana.requests if r.route.endswith("/_mute")] == [
        f"ApiKey {ALICE_KEY}"
    ]
    database = database_bytes(tmp_path)
    assert database  # the database file (and its WAL) was written
    slack_said = "".join(str(r.body) for r in slack.responses) + "".join(
        str(c.params) for c in slack.calls_to("chat.postEphemeral")
    )
    for shown in (ALICE_KEY, SECRET):
        assert shown not in logs
        assert shown.encode() not in database
        assert shown not in slack_said
