"""Exactly once at the crash boundary: a replica dies after Slack took a group's message but before the
store recorded its ts; the replica that takes the group over finds the message (by the group's id in its
metadata, in the channel's recent history) and updates it instead of posting a second one. Without the
history scope the bot posts as before, and says so once in the log and in `python -m bot check`."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.checks import check_slack
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot

from .conftest import make_settings
from .test_e2e_alert_groups import counts, storm
from .test_e2e_alerts_webhook import deliver, top_level


class Died(BaseException):
    """The process stops here: nothing after it runs (not even the publisher's error handling)."""


def die_before_recording_the_ts(bot: RunningBot) -> list[int]:
    """The replica dies between Slack's answer to a group's post and the store's record of its ts."""
    died: list[int] = []
    store = bot.runtime.services.store

    async def alert_group_posted(group_id: int, *, channel: str, ts: str) -> None:
        died.append(group_id)
        raise Died

    lease_before = store.lease_alert_group

    async def lease_alert_group(group_id: int, *, owner: str, lease: timedelta = timedelta(minutes=5)) -> bool:
        return not died and await lease_before(group_id, owner=owner, lease=lease)  # a dead replica takes nothing

    store.alert_group_posted = alert_group_posted  # type: ignore[method-assign]
    store.lease_alert_group = lease_alert_group  # type: ignore[method-assign]
    return died


async def crash_after_the_posts(bot: RunningBot, slack: FakeSlack, bodies: list[dict[str, Any]], groups: int) -> None:
    """Deliver, let the posts of `groups` groups reach Slack and the replica die holding them, then let
    its leases run out."""
    died = die_before_recording_the_ts(bot)
    await asyncio.gather(*(deliver(bot, b) for b in bodies))
    await slack.wait_for(lambda: len(died) == groups, timeout=10)
    assert len(top_level(slack)) == groups  # Slack has the messages; the store has no ts for them
    services = bot.runtime.services
    for group in died:
        assert (await services.store.alert_group(group)).ts is None  # type: ignore[union-attr]
        # five minutes later: the dead replica's lease has run out
        expire = type(services.store).lease_alert_group  # the store's own, not the dead replica's
        assert await expire(services.store, group, owner=services.replica, lease=timedelta(seconds=-1))


async def test_a_replica_killed_between_a_post_and_its_record_posts_nothing_twice(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path)
    async with running_bot(settings) as first:
        await crash_after_the_posts(first, slack, storm("r1", range(3)), groups=1)
    [posted] = top_level(slack)
    assert posted["metadata"]["event_type"] == "kibana_chatops_alert_group"
    async with running_bot(settings) as second:  # takes the group over
        await asyncio.gather(*(deliver(second, b) for b in storm("r1", range(3, 8))))
        await slack.wait_for(lambda: counts(top_level(slack)[0]) == (8, 0), timeout=15)
        await asyncio.gather(*(deliver(second, b) for b in storm("r1", range(8), recovered=True)))
        await slack.wait_for(lambda: counts(top_level(slack)[0]) == (0, 8), timeout=15)
    assert [m["ts"] for m in top_level(slack)] == [posted["ts"]]  # one message, and the updates landed on it
    history = slack.calls_to("conversations.history")
    assert [(c.params["channel"], c.response["ok"]) for c in history] == [("C0ALERTS", True)]


async def test_without_the_history_scope_the_bot_posts_as_before_and_says_so_once(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(kibana, slack, tmp_path)
    slack.revoke_scopes("channels:history", "groups:history")
    token, *warnings = await check_slack(settings)
    assert token.ok and [(w.ok, w.warning) for w in warnings] == [(True, True), (True, True)]
    assert warnings[0].line() == (
        "Slack scopes: WARNING — the Slack app lacks `channels:history`: an alert message posted just before a "
        "crash may be posted again, and synced threads of public channels send no replies to their cases; "
        "reinstall it with the bot's manifest.json"
    )
    async with running_bot(settings) as first:
        await crash_after_the_posts(first, slack, storm("r1", range(2)) + storm("r2", range(2)), groups=2)
    with caplog.at_level(logging.WARNING, logger="handlers.alerts.adoption"):
        async with running_bot(settings):
            await slack.wait_for(lambda: len(top_level(slack)) == 4, timeout=15)  # posted again, as before
    assert [c.response["error"] for c in slack.calls_to("conversations.history")] == ["missing_scope"] * 2
    [told] = [r.getMessage() for r in caplog.records if r.name == "handlers.alerts.adoption"]
    assert "lacks the scope `channels:history`" in told
