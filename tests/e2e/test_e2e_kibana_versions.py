"""The bot against Kibanas of other versions, licences and credential kinds (issue 14): `check`, the
start-up read of version and licence, and its periodic refresh."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot import app as app_module
from bot.kibana.capabilities import Capabilities
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver
from tests.e2e.conftest import KIBANA_KEY, SIGNING_SECRET, make_settings
from tests.e2e.test_e2e_process import env_for, run_bot
from tests.unit.test_long_ids_fit_slack import validated


async def _check(version: str, licence: str, slack: FakeSlack, tmp_path: Path, **env: str) -> tuple[int, str]:
    async with FakeKibana(api_keys=(KIBANA_KEY,), version=version, license=licence) as kibana:
        code, out, err = await run_bot("check", env=env_for(kibana, slack, tmp_path, **env), cwd=tmp_path)
        sent = [(r.method, r.route) for r in kibana.requests]
    assert ("GET", "/api/status") in sent and ("GET", "/api/licensing/info") in sent
    assert "Traceback" not in err
    return code, out


async def test_check_on_8_15_basic_names_each_missing_feature(slack: FakeSlack, tmp_path: Path) -> None:
    code, out = await _check("8.15.0", "basic", slack, tmp_path)
    lines = out.strip().splitlines()
    assert code == 0, out  # missing features are warnings
    assert lines[1] == "Kibana version: ok — Kibana 8.15.0, basic licence (active)"
    assert lines[2].startswith("Kibana snooze: WARNING — Kibana 8.15.0 has no snooze API")
    assert "mute-all or disable" in lines[2]
    assert lines[3].startswith("Kibana alert messages: WARNING — Kibana's Webhook connector needs a Gold licence")
    assert "polling alerts-as-data instead (`alerts subscribe`, with ELASTICSEARCH_URL)" in lines[3]
    assert lines[4].startswith("Kibana APM agent keys: WARNING — the bot uses an API key")
    assert "KIBANA_AGENT_KEY_USERNAME and KIBANA_AGENT_KEY_PASSWORD" in lines[4]
    assert lines[5].startswith(
        "Kibana maintenance windows: WARNING — Kibana 8.15.0 has no public maintenance-window API: it needs Kibana "
        "8.19 or later on 8.x, 9.1 or later on 9.x, with a Platinum licence or better"
    )


async def test_check_on_9_3_platinum_with_agent_key_credentials_lacks_nothing(slack: FakeSlack, tmp_path: Path) -> None:
    code, out = await _check(
        "9.3.0", "platinum", slack, tmp_path, KIBANA_AGENT_KEY_USERNAME="elastic", KIBANA_AGENT_KEY_PASSWORD="changeme"
    )
    lines = out.strip().splitlines()
    assert code == 0, out
    assert lines[1] == "Kibana version: ok — Kibana 9.3.0, platinum licence (active)"
    assert lines[2] == (
        "Kibana licence: ok — platinum allows the Webhook connector that feeds alert messages (Gold or better)"
    )
    assert [line.split(":")[0] for line in lines[3:]] == ["Alert intake", "Slack", "Database"]
    assert "changeme" not in out


@pytest.mark.parametrize(
    ("version", "snooze"), [("8.15.0", False), ("8.19.0", True), ("9.0.0", False), ("9.3.0", True)]
)
async def test_the_bot_reads_version_and_licence_at_start_up(
    slack: FakeSlack, tmp_path: Path, version: str, snooze: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.kibana.profile")
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version=version, license="gold") as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        capabilities = bot.runtime.services.profile.current
    assert capabilities.info.version == version and capabilities.info.license_type == "gold"
    assert capabilities.snooze is snooze
    assert f"Kibana: Kibana {version}, gold licence (active)" in caplog.text


async def test_an_upgrade_is_noticed_without_a_restart(
    slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "PROFILE_REFRESH_SECONDS", 0.2)
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version="9.0.0", license="basic") as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        profile = bot.runtime.services.profile
        assert not profile.current.snooze and not profile.current.webhook_connector
        kibana.version, kibana.license = "9.1.0", "gold"
        for _ in range(50):
            if profile.current.info.version == "9.1.0":
                break
            await asyncio.sleep(0.1)
        assert profile.current.snooze and profile.current.webhook_connector
    assert kibana.count("GET", "/api/status") >= 2


# ---- maintenance windows: 8.19+ / 9.1+ with Platinum; listing from 9.2 -------------------------------


async def _mw(driver: SlackDriver, slack: FakeSlack, text: str) -> str:
    before = len(slack.responses)
    assert (await driver.post(driver.slash_command(text))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    [answer] = slack.responses[before:]
    if "blocks" in answer.body:
        validated(answer.body["blocks"])
        return json.dumps(answer.body["blocks"])
    return str(answer.body["text"])


@pytest.mark.parametrize(
    ("version", "starts", "lists"), [("8.15.0", False, False), ("8.19.0", True, False), ("9.1.0", True, False),
                                     ("9.5.0", True, True)],
)  # fmt: skip
async def test_maintenance_windows_across_versions(
    slack: FakeSlack, tmp_path: Path, version: str, starts: bool, lists: bool
) -> None:
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version=version, license="platinum") as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        await bot.runtime.services.profile.first_read()
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        started = await _mw(driver, slack, "mw start 1h --title Deploy --tag web")
        listed = await _mw(driver, slack, "mw list")
        windows = list(kibana.state.maintenance_windows.values())
        sent = [(r.method, r.route) for r in kibana.requests if r.route and "maintenance_window" in r.route]
        if not starts:
            assert sent == [] and windows == []
            assert f"Kibana {version} has no public maintenance-window API" in started
            assert "8.19 or later on 8.x, 9.1 or later on 9.x, with a Platinum licence" in started
            assert "snooze <rule_id> 2h" in started and started == listed
            # Had the bot not known the version, Kibana's router answers a bare 404: the same advice.
            bot.runtime.services.profile.current = Capabilities()
            unknown = await _mw(driver, slack, "mw start 1h")
            assert f"This Kibana ({version}) has no public maintenance-window API" not in unknown  # version unknown
            assert "has no public maintenance-window API, so nothing was changed" in unknown
            assert [r.route for r in kibana.requests if r.route and "maintenance_window" in r.route] == [
                "/api/maintenance_window"
            ]
            return
        [window] = windows
        assert window.kql == 'kibana.alert.rule.tags: "web"' and f"`{window.id}`" in started
        if lists:
            assert ("GET", "/api/maintenance_window/_find") in sent and "*Deploy*" in listed
        else:  # no public list: the windows started from Slack (ids from the audit trail), read one by one
            assert ("GET", "/api/maintenance_window/_find") not in sent
            assert ("GET", "/api/maintenance_window/{id}") in sent
            assert "*1 maintenance window* started from Slack running or coming" in listed and "*Deploy*" in listed
            assert (
                f"Kibana {version} cannot list maintenance windows through its public API (it can from 9.2)" in listed
            )
            assert "/app/management/insightsAndAlerting/maintenanceWindows" in listed
        ended = await _mw(driver, slack, f"mw end {window.id}")
        assert "ended maintenance window *Deploy*" in ended and window.archived


async def test_mw_list_on_a_9_1_the_bot_has_not_read_yet_is_explained(slack: FakeSlack, tmp_path: Path) -> None:
    """9.1 routes `GET …/_find` to `GET …/{id}` (404 `Saved object [maintenance-window/_find] not found`):
    the person is told the version cannot list, not that a window `_find` is missing."""
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version="9.1.0", license="platinum") as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        await bot.runtime.services.profile.first_read()
        bot.runtime.services.profile.current = Capabilities()  # as if version and licence were unknown
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        said = await _mw(driver, slack, "mw list")
        [sent] = [r for r in kibana.requests if r.route and "maintenance_window" in r.route]
    assert (sent.path, sent.route) == ("/api/maintenance_window/_find", "/api/maintenance_window/{id}")
    assert "cannot list maintenance windows through its public API (Kibana can from 9.2)" in said
    assert "no maintenance window `_find`" not in said.lower()
