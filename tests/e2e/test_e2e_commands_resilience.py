"""Slack always gets its ack in time, and every failure is answered with a sentence."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver
from tests.e2e.conftest import SIGNING_SECRET, make_settings

ANY_ROUTE = r"/api/.*"


async def answer_to(driver: SlackDriver, slack: FakeSlack, text: str, **kwargs: object) -> str:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, **kwargs))  # type: ignore[arg-type]
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before, timeout=15)
    return str(slack.responses[before].body["text"])


async def test_every_request_is_acked_within_3_s_while_kibana_takes_5(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    kibana.fault("*", ANY_ROUTE, latency=5)
    settings = make_settings(kibana, slack, tmp_path, kibana_timeout=10)
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        # An alert-like message of the bot's to click on, posted directly so the click does not wait for Kibana.
        value = '{"r":"r1","s":"default","a":"host-1"}'
        button = {
            "type": "button",
            "action_id": "alert_mute",
            "text": {"type": "plain_text", "text": "Mute"},
            "value": value,
        }
        posted = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).chat_postMessage(
            channel="C0ALERTS", text="alert", blocks=[{"type": "actions", "block_id": "b", "elements": [button]}]
        )
        card = slack.message("C0ALERTS", str(posted["ts"]))
        assert card is not None
        payloads = [
            driver.slash_command("mute r1 host-1"),
            driver.slash_command("rule r1"),
            driver.slash_command("health"),
            driver.slash_command("disable r1"),
            driver.block_action("alert_mute", value, message=card),
        ]

        async def timed(payload: dict) -> float:  # type: ignore[type-arg]
            started = time.perf_counter()
            response = await driver.post(payload)
            assert response.status_code == 200
            return time.perf_counter() - started

        started = time.perf_counter()
        acks = await asyncio.gather(*(timed(p) for p in payloads))
        assert max(acks) < 3.0, acks
        # The results follow once Kibana answers: three response_url posts, the clicked message updated
        # with a receipt in its thread, and the disable form filled in.
        await slack.wait_for(lambda: len(slack.responses) >= 3, timeout=15)
        await slack.wait_for(lambda: slack.thread("C0ALERTS", card["ts"])[1:], timeout=15)
        await slack.wait_for(lambda: any("Disable" in str(v.get("submit")) for v in slack.views.values()), timeout=15)
        assert time.perf_counter() - started >= 5.0
        texts = " ".join(str(r.body.get("text")) for r in slack.responses)
        assert "muted alert `host-1`" in texts and "Kibana alerting health" in texts
        assert "muted alert `host-1`" in slack.thread("C0ALERTS", card["ts"])[-1]["text"]


async def test_kibana_503_is_reported_and_retried(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["a1"])
    kibana.fault("*", ANY_ROUTE, status=503)
    text = await answer_to(driver, slack, "mute r1 a1")
    assert "Kibana could not be reached (503), so `/kibana mute` did not happen" in text
    assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 4  # retried, bounded


async def test_kibana_refusing_connections(slack: FakeSlack, kibana: FakeKibana, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = make_settings(kibana, slack, tmp_path, kibana_url=f"http://127.0.0.1:{closed_port}")
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        text = await answer_to(driver, slack, "enable r1")
    assert "Kibana could not be reached" in text and "did not happen" in text


async def test_kibana_401_tells_an_admin_what_to_check(slack: FakeSlack, kibana: FakeKibana, tmp_path: Path) -> None:
    settings = make_settings(kibana, slack, tmp_path, kibana_api_key="revoked-key")
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        text = await answer_to(driver, slack, "rules")
    assert "Kibana rejected the bot's credentials (401)" in text and "KIBANA_API_KEY" in text
    assert "revoked-key" not in text


async def test_kibana_403_names_what_kibana_said(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["a1"])
    kibana.forbid("muteAlert", rule_id="r1")
    text = await answer_to(driver, slack, "mute r1 a1")
    assert "(403)" in text and 'Unauthorized by "alerts" to muteAlert ".index-threshold" rule' in text


async def test_bad_and_stale_signatures_are_refused(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["a1"])
    wrong = await driver.post(driver.slash_command("mute r1 a1"), signing_secret="not-the-secret")
    stale = await driver.post(driver.slash_command("mute r1 a1"), timestamp=int(time.time()) - 3600)
    assert (wrong.status_code, stale.status_code) == (401, 401)
    await asyncio.sleep(0.3)
    assert kibana.requests == [] and slack.responses == []


async def test_oversized_text_is_a_usage_answer(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    response = await driver.post(driver.slash_command("rules " + "x" * 5000))
    assert response.status_code == 200
    assert "the limit is 2000" in response.json()["text"]
    assert kibana.requests == []


async def test_commands_over_socket_mode(socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    ack = await socket_driver.send_socket(socket_driver.slash_command("mute r1 host-1"))
    assert ack["envelope_id"]
    await slack.wait_for(lambda: slack.responses, timeout=5)
    sent = [r for r in kibana.requests if r.route][-1]
    assert (sent.method, sent.path) == ("POST", "/api/alerting/rule/r1/alert/host-1/_mute")
    assert "muted alert `host-1`" in slack.responses[-1].body["text"]
    ack = await socket_driver.send_socket(socket_driver.slash_command("mute r1"))
    assert "Something is missing" in ack["payload"]["text"]


@pytest.mark.parametrize(
    ("text", "method", "path"),
    [
        ("mute r1 host-1", "POST", "/api/alerting/rule/r1/alert/host-1/_mute"),
        ("unmute r1 host-1", "POST", "/api/alerting/rule/r1/alert/host-1/_unmute"),
        ("unmute-all r1", "POST", "/api/alerting/rule/r1/_unmute_all"),
        ("enable r1 --space ops", "POST", "/s/ops/api/alerting/rule/r1/_enable"),
        ("snooze r1 4h", "POST", "/api/alerting/rule/r1/snooze_schedule"),
        ("rules cpu", "GET", "/api/alerting/rules/_find"),
        ("rule r1", "GET", "/api/alerting/rule/r1"),
        ("health", "GET", "/api/alerting/_health"),
    ],
)
async def test_each_alerting_command_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, text: str, method: str, path: str
) -> None:
    kibana.add_rule(
        id="r1", name="CPU high", space="ops" if "--space ops" in text else "default", active_alerts=["host-1"]
    )
    ack = await socket_driver.send_socket(socket_driver.slash_command(text))
    assert ack["envelope_id"]
    await slack.wait_for(lambda: slack.responses, timeout=5)
    sent = [r for r in kibana.requests if r.route][-1]
    assert (sent.method, sent.path) == (method, path)
    assert slack.responses[-1].body["text"]
