"""App Home end to end: opening the Home tab (`app_home_opened`, signed over HTTP and as a Socket Mode
envelope) publishes the person's own state with `views.publish`: what they muted and snoozed (and when
each snooze or timed mute ends), the alerts they are on (*I'm on it*, with a link to the message),
the cases they opened, alerting health per space, and the common commands; within
Slack's 100 blocks, with a *more* line where a list is cut, and drawn again on every opening."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .conftest import make_settings
from .test_e2e_alert_claims import click, posted, thread

ALICE = "U0ALICE"


def home_text(slack: FakeSlack, user: str = ALICE) -> str:
    return json.dumps(slack.home_views[user]["blocks"], ensure_ascii=False)


def valid_home(slack: FakeSlack, user: str = ALICE) -> dict[str, Any]:
    view = slack.home_views[user]
    sent = [c for c in slack.calls_to("views.publish") if c.params.get("user_id") == user][-1]
    View(
        **json.loads(sent.params["view"]) if isinstance(sent.params["view"], str) else sent.params["view"]
    ).validate_json()
    assert len(view["blocks"]) <= 100
    return view


async def command(driver: SlackDriver, slack: FakeSlack, text: str, *, user: str = ALICE) -> None:
    before = len(slack.responses)
    answer = await driver.post(driver.slash_command(text, user_id=user))
    assert answer.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)


async def open_home(driver: SlackDriver, slack: FakeSlack, *, user: str = ALICE, socket: bool = False) -> None:
    published = len(slack.calls_to("views.publish"))
    payload = driver.app_home_opened(user_id=user)
    if socket:
        ack = await driver.send_socket(payload)
        assert ack["envelope_id"]
    else:
        answer = await driver.post(payload)
        assert answer.status_code == 200
    await slack.wait_for("views.publish", count=published + 1)


async def test_home_shows_mutes_snoozes_cases_and_health(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    kibana.add_rule(id="r2", name="Disk full", active_alerts=["host-9"])
    await command(driver, slack, "snooze r1 4h")
    await command(driver, slack, "mute r2 host-9")
    await command(driver, slack, "mute-all r1")  # asks to confirm: not muted until confirmed
    started = datetime.now(UTC)

    await open_home(driver, slack)
    view = valid_home(slack)
    text = home_text(slack)
    assert view["type"] == "home"
    snooze = bot.runtime.services.store
    [known] = await snooze.known_snoozes(space="default", rule_id="r1")
    assert known.ends_at - started < timedelta(hours=4, minutes=1)
    assert f"snoozed until {known.ends_at.strftime('%Y-%m-%d %H:%M UTC')}" in text
    assert "Alert `host-9` of rule `r2`" in text and "until someone unmutes" in text
    assert "All alerts of rule `r1`" not in text  # mute-all was only asked, never confirmed
    assert "Space `default`: *ok*" in text
    assert "/kibana health" in text and "Rules in Kibana" in text
    assert kibana.count("GET", "/api/alerting/_health") == 1

    # Someone else unmutes: the next opening shows the mute gone (the page is drawn again each time).
    await command(driver, slack, "unmute r2 host-9", user="U0BOB")
    await open_home(driver, slack)
    assert "host-9" not in home_text(slack)
    assert kibana.count("GET", "/api/alerting/_health") == 2


async def test_home_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    await open_home(socket_driver, slack, socket=True)
    valid_home(slack)
    assert "Nothing you muted or snoozed is in effect." in home_text(slack)
    assert "You have opened or linked no case from Slack." in home_text(slack)


async def test_cases_opened_and_the_more_line(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    store = bot.runtime.services.store
    from bot.store import AuditEntry

    for number in range(30):  # as the case form records them: target the case id, detail its title
        await store.add_audit(
            AuditEntry(
                ALICE, "alice", "T0001", "C0ALERTS", "case", f"case-{number}", "default", "ok", detail=f"Disk {number}"
            )
        )
    await store.add_audit(AuditEntry("U0BOB", "bob", "T0001", "C0ALERTS", "case", "bobs-case", "default", "ok"))
    await open_home(driver, slack)
    valid_home(slack)
    text = home_text(slack)
    assert "Disk 29" in text and "Disk 10" in text and "Disk 9" not in text
    assert "…and 10 more" in text
    assert "bobs-case" not in text


async def test_home_of_someone_without_a_role(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    from devkit.harness import running_bot

    settings: Settings = make_settings(kibana, slack, tmp_path)
    policy = tmp_path / "nobody.toml"
    policy.write_text('default_role = "none"\n')
    settings = settings.model_copy(update={"access_policy": policy})
    async with running_bot(settings, mode="http") as running:
        from .conftest import SIGNING_SECRET

        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=running.events_url, fake_slack=slack)
        kibana.requests.clear()
        await open_home(driver, slack)
        assert "You have no role with this bot" in home_text(slack)
        assert not [r for r in kibana.requests if r.route == "/api/alerting/_health"]


@pytest.mark.parametrize("enabled", [False])
async def test_views_publish_without_the_home_tab_is_not_enabled(enabled: bool) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async with FakeSlack(home_tab_enabled=enabled) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as refused:
            await client.views_publish(user_id=ALICE, view={"type": "home", "blocks": []})
        assert refused.value.response["error"] == "not_enabled"


async def test_an_opening_drawn_from_older_state_does_not_replace_a_newer_page(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    await open_home(driver, slack)
    stale = driver.app_home_opened()  # carries the hash of the page Alice has now
    await command(driver, slack, "home")  # `home` draws it again: a new hash
    newer = slack.home_views[ALICE]["hash"]
    published = len(slack.calls_to("views.publish"))
    assert (await driver.post(stale)).status_code == 200
    [call] = (await slack.wait_for("views.publish", count=published + 1))[published:]
    assert call.response["error"] == "hash_conflict"  # Slack keeps the newer page
    assert slack.home_views[ALICE]["hash"] == newer
    assert "Your App Home is up to date" in json.dumps([r.body for r in slack.responses])


async def test_slack_is_answered_before_kibana_and_a_down_kibana_is_said_on_the_page(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.fault("GET", r".*/api/alerting/_health", latency=4.0, times=None)  # past KIBANA_TIMEOUT (3 s)
    answer = await driver.post(driver.app_home_opened())
    assert answer.status_code == 200
    assert slack.calls_to("views.publish") == []  # answered while Kibana was still being asked
    await slack.wait_for("views.publish", timeout=15)
    text = home_text(slack)
    assert "Space `default`: *unreachable*" in text and "Kibana did not answer within 5 s" in text
    assert "Your mutes and snoozes" in text  # the rest of the page is drawn all the same


async def test_refresh_on_the_home_tab_draws_it_again_and_a_forged_value_is_refused(
    socket_driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    socket_bot: RunningBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await open_home(socket_driver, slack, socket=True)
    kibana.add_rule(id="r1", name="CPU high")
    await socket_bot.runtime.services.store.remember_snooze(
        space="default",
        rule_id="r1",
        schedule_id="s-1",
        ends_at=datetime.now(UTC) + timedelta(hours=1),
        created_by=ALICE,
    )
    published = len(slack.calls_to("views.publish"))
    home = slack.home_views[ALICE]
    ack = await socket_driver.send_socket(socket_driver.block_action("home_refresh", '{"h":1}', view=home))
    assert ack["envelope_id"]
    await slack.wait_for("views.publish", count=published + 1)
    assert "Rule `r1`: snoozed until" in home_text(slack)
    valid_home(slack)

    forged = socket_driver.block_action("home_refresh", '{"h":1}', view=slack.home_views[ALICE])
    forged["actions"][0]["value"] = '{"h":2}'
    caplog.set_level(logging.WARNING, logger="handlers.shared.guard")
    await socket_driver.send_socket(forged)
    # A read-only action's forged value is refused and logged (the guard audits refused writes only).
    await slack.wait_for(lambda: "refused a forged home value" in caplog.text)
    await asyncio.sleep(0.2)
    assert len(slack.calls_to("views.publish")) == published + 1


async def claim_and_mute(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, *, socket: bool = False
) -> dict[str, Any]:
    """Alice is on rule r1's alert (*I'm on it* on its message) and mutes r2's alert for 1 h."""
    message = await posted(bot, slack, kibana)
    if socket:
        ack = await driver.send_socket(driver.block_action("alert_claim", message=message))
        assert ack["envelope_id"]
        await slack.wait_for(lambda: len(thread(slack, message)) >= 1)
    else:
        await click(driver, slack, message, "alert_claim", replies=1)
    kibana.add_rule(id="r2", name="Disk full", active_alerts=["host-9"])
    if socket:
        before = len(slack.responses)
        assert (await driver.send_socket(driver.slash_command("mute r2 host-9 for 1h")))["envelope_id"]
        await slack.wait_for(lambda: len(slack.responses) > before)
    else:
        await command(driver, slack, "mute r2 host-9 for 1h")
    return message


async def assert_claim_and_mute_end_shown(bot: RunningBot, slack: FakeSlack, message: dict[str, Any]) -> None:
    valid_home(slack)
    text = home_text(slack)
    link = slack.workspace.permalink("C0ALERTS", message["ts"])
    assert "*Alerts you claimed*" in text
    assert "Alert `host-1` of rule *CPU high* (`r1`), claimed " in text
    assert f"<{link}|the alert message>" in text
    [timed] = await bot.runtime.services.store.timed_mutes_by(ALICE)
    assert timed.ends_at is not None
    assert "Alert `host-9` of rule `r2`: muted " in text
    assert f"until {timed.ends_at.strftime('%Y-%m-%d %H:%M UTC')}" in text
    assert "until someone unmutes" not in text


async def test_home_shows_the_alerts_you_claimed_and_when_your_mutes_end(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = await claim_and_mute(bot, driver, slack, kibana)
    await open_home(driver, slack)
    await assert_claim_and_mute_end_shown(bot, slack, message)
    assert slack.calls_to("chat.getPermalink")[-1].params["channel"] == "C0ALERTS"

    # Bob's Home shows neither: they are Alice's.
    slack.workspace.add_user("U0BOB", "bob")
    await open_home(driver, slack, user="U0BOB")
    assert "host-1" not in home_text(slack, "U0BOB") and "host-9" not in home_text(slack, "U0BOB")

    # Released: the claim is gone from the next opening; the mute stays with its end.
    await click(driver, slack, message, "alert_release", replies=2)
    await open_home(driver, slack)
    text = home_text(slack)
    assert "Alerts you claimed" not in text and "host-1" not in text
    assert "Alert `host-9` of rule `r2`: muted " in text and "until someone unmutes" not in text

    # Unmuted: the mute and its end are gone too.
    await command(driver, slack, "unmute r2 host-9")
    await open_home(driver, slack)
    assert "host-9" not in home_text(slack)
    assert await bot.runtime.services.store.timed_mutes_by(ALICE) == []


async def test_home_shows_claims_and_mute_ends_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    message = await claim_and_mute(socket_bot, socket_driver, slack, kibana, socket=True)
    await open_home(socket_driver, slack, socket=True)
    await assert_claim_and_mute_end_shown(socket_bot, slack, message)


async def test_an_indefinite_mute_stays_until_someone_unmutes_and_a_missing_link_leaves_the_channel(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = await posted(bot, slack, kibana)
    await click(driver, slack, message, "alert_claim", replies=1)
    await command(driver, slack, "mute r1 host-1")
    slack.fail("chat.getPermalink", "message_not_found")
    await open_home(driver, slack)
    text = home_text(slack)
    assert "Alert `host-1` of rule *CPU high* (`r1`), claimed " in text and "in <#C0ALERTS>" in text
    assert "Alert `host-1` of rule `r1`: muted " in text and "until someone unmutes" in text
