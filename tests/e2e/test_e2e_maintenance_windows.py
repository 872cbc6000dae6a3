"""`mw start|list|end` over real signed HTTP against the fake Kibana: what Kibana received, what the
channel saw, and the sentence other Kibanas (older, or below Platinum) get instead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.kibana.capabilities import Capabilities
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver
from tests.e2e.conftest import KIBANA_KEY, SIGNING_SECRET, make_settings
from tests.unit.test_long_ids_fit_slack import validated

MW = "/api/maintenance_window"


async def run(driver: SlackDriver, slack: FakeSlack, text: str) -> dict[str, Any]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    if response.content and response.json().get("text"):  # a usage error, answered in the ack
        return dict(response.json())
    await slack.wait_for(lambda: len(slack.responses) > before)
    [answer] = [r.body for r in slack.responses[before:]]
    if "blocks" in answer:
        validated(answer["blocks"])
    return dict(answer)


def mw_requests(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.route is not None and r.route.startswith(MW)]


async def test_start_sends_title_duration_and_tag_scope_and_tells_the_channel(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    answer = await run(driver, slack, 'mw start 2h --title "Deploy <!channel>" --tag web --tag db')
    [sent] = mw_requests(kibana)
    assert (sent.method, sent.path) == ("POST", MW)
    assert sent.headers["kbn-xsrf"]
    body = sent.json
    assert body["title"] == "Deploy <!channel>" and body["enabled"] is True
    assert body["schedule"]["custom"]["duration"] == "2h"
    start = datetime.fromisoformat(body["schedule"]["custom"]["start"].replace("Z", "+00:00"))
    assert abs(start - datetime.now(UTC)) < timedelta(minutes=1)
    assert body["scope"] == {
        "alerting": {"query": {"kql": 'kibana.alert.rule.tags: "web" or kibana.alert.rule.tags: "db"'}}
    }
    [(_, window_id)] = kibana.state.maintenance_windows
    assert answer["response_type"] == "in_channel"
    text = answer["text"]
    assert "started maintenance window *Deploy &lt;!channel&gt;* " in text and "<!channel>" not in text
    assert f"`{window_id}`" in text and "rules tagged `web`, `db`" in text
    assert f"mw end {window_id}" in text


async def test_list_shows_running_windows_and_end_archives_one(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    await run(driver, slack, "mw start 1h --title Deploy")
    await run(driver, slack, "mw start 30m --title Freeze --tag db")
    listed = await run(driver, slack, "mw list")
    [find] = [r for r in mw_requests(kibana) if r.method == "GET"]
    assert find.path == MW + "/_find" and find.query["status"] == ["running", "upcoming"]
    shown = "\n".join(b["text"]["text"] for b in listed["blocks"] if b["type"] == "section")
    assert "*2 maintenance windows* running or coming" in shown
    assert "*Deploy*" in shown and "every alert of the space" in shown
    assert "*Freeze*" in shown and 'kibana.alert.rule.tags: "db"' in shown

    deploy = next(w for w in kibana.state.maintenance_windows.values() if w.title == "Deploy")
    ended = await run(driver, slack, f"mw end {deploy.id}")
    archive = mw_requests(kibana)[-1]
    assert (archive.method, archive.path) == ("POST", f"{MW}/{deploy.id}/_archive")
    assert deploy.archived and deploy.status(datetime.now(UTC)) == "archived"
    assert ended["response_type"] == "in_channel" and "ended maintenance window *Deploy*" in ended["text"]
    relisted = await run(driver, slack, "mw list")
    assert "*1 maintenance window* running" in relisted["blocks"][0]["text"]["text"]

    audit = await driver_audit(slack, driver)
    assert "mw start" in audit and "mw end" in audit


async def driver_audit(slack: FakeSlack, driver: SlackDriver) -> str:
    answer = await run(driver, slack, "audit last 10")
    return str(answer)


async def test_end_of_an_unknown_window_says_so(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    answer = await run(driver, slack, "mw end no-such-window --space ops")
    [sent] = mw_requests(kibana)
    assert sent.path == f"/s/ops{MW}/no-such-window/_archive"
    assert "There is no maintenance window `no-such-window` in space `ops`" in answer["text"]
    assert "mw list" in answer["text"]


async def test_usage_errors_are_answered_without_kibana(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    for text, said in [
        ("mw start", "how long"),
        ("mw start 2h --tag", "`--tag` needs a value"),
        ("mw start 45d", "between 1 minute and 30 days"),
        ("mw start 1h --colour red", "no option"),
        ("mw stop 1", "no subcommand"),
    ]:
        answer = await run(driver, slack, text)
        assert said in answer["text"], (text, answer["text"])
    assert mw_requests(kibana) == []


async def _on(version: str, licence: str, slack: FakeSlack, tmp_path: Path, text: str) -> tuple[str, list[Any]]:
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version=version, license=licence) as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        await bot.runtime.services.profile.first_read()
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        answer = await run(driver, slack, text)
        return answer["text"], mw_requests(kibana)


async def test_a_gold_kibana_is_told_it_needs_platinum(slack: FakeSlack, tmp_path: Path) -> None:
    text, sent = await _on("9.3.0", "gold", slack, tmp_path, "mw start 1h")
    assert sent == []
    assert "Platinum licence or better, and this Kibana has gold, so nothing was done" in text
    assert "snooze <rule_id> 2h" in text


async def test_a_key_without_the_maintenance_window_privilege_is_told_what_to_ask_for(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.forbid("writeMaintenanceWindow")
    answer = await run(driver, slack, "mw start 1h --title Deploy")
    [sent] = mw_requests(kibana)
    assert sent.method == "POST" and kibana.state.maintenance_windows == {}
    assert answer["response_type"] == "ephemeral"
    assert "the key used lacks the *Maintenance windows* privilege in space `default`" in answer["text"]
    assert "All, to start and end windows" in answer["text"]
    listed = await run(driver, slack, "mw list")  # reading needs only Read, which the key holds
    assert "No maintenance window is running or coming in space `default`" in listed["text"]
    audit = await run(driver, slack, "audit last 5")
    assert "mw start" in str(audit) and "403" in str(audit)


async def test_kibana_s_platinum_refusal_is_explained_when_the_bot_did_not_know_the_licence(
    slack: FakeSlack, tmp_path: Path
) -> None:
    async with (
        FakeKibana(api_keys=(KIBANA_KEY,), version="9.3.0", license="gold") as kibana,
        running_bot(make_settings(kibana, slack, tmp_path)) as bot,
    ):
        await bot.runtime.services.profile.first_read()
        bot.runtime.services.profile.current = Capabilities()  # version and licence unknown: Kibana decides
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        answer = await run(driver, slack, "mw start 1h")
        [sent] = mw_requests(kibana)
        exchange = next(e for e in kibana.exchanges if e.request is sent)
    assert exchange.status == 403 and b"requires a platinum license" in exchange.body
    assert (
        "Kibana refused: its maintenance windows need a Platinum licence or better, so nothing was changed"
        in (answer["text"])
    )
