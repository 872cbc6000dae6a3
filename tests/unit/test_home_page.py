"""The App Home page (handlers/home/page.py) keeps within Slack's 100 blocks whatever it lists, says
where it cut, escapes what it did not write, and validates with slack_sdk's models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from slack_sdk.models.views import View

from bot.access import Role
from bot.store import AuditEntry, KnownSnooze
from handlers.home.facts import Claimed, HomeFacts, Muted, OpenedCase, mutes_standing
from handlers.home.page import home_view

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def page(facts: HomeFacts) -> dict[str, object]:
    view = home_view(facts, command="/kibana", kibana_base="https://kibana.example.com")
    View(**view).validate_json()  # type: ignore[arg-type]
    return view


def test_everything_at_once_stays_within_100_blocks_with_more_lines() -> None:
    facts = HomeFacts(user_id="U1", role=Role.ADMIN, person_mode=True, connected=False)
    facts.claimed = [Claimed("default", f"r{i}", f"a{i}", NOW) for i in range(40)]
    facts.muted = [Muted("default", f"r{i}", f"h{i}", NOW) for i in range(40)]
    facts.snoozed = [KnownSnooze("ops", f"s{i}", f"id{i}", NOW + timedelta(hours=i), "U1") for i in range(40)]
    facts.cases = [OpenedCase("default", f"c{i}", f"Case *{i}* <!here>", None, NOW) for i in range(40)]
    view = page(facts)
    blocks = view["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= 100
    text = json.dumps(blocks, ensure_ascii=False)
    assert "…and 20 more" in text and "…and 60 more" in text  # claims; mutes and snoozes together
    assert "<!here>" not in text and "&lt;!here&gt;" in text  # a case title is not the bot's: escaped
    assert "Connect Kibana" in text


def test_no_role_shows_only_that() -> None:
    view = page(HomeFacts(user_id="U1", role=Role.NONE, person_mode=False))
    assert "You have no role with this bot" in json.dumps(view)
    assert len(view["blocks"]) == 2  # type: ignore[arg-type]


def entry(action: str, target: str, user: str, minutes: int) -> AuditEntry:
    return AuditEntry(
        user, user.lower(), "T1", "C1", action, target, "default", "ok", at=NOW + timedelta(minutes=minutes)
    )


def test_a_mute_stands_until_someone_undoes_it() -> None:
    newest_first = [
        entry("unmute", "r1/h1", "U2", 5),  # someone else unmuted h1 after U1 muted it
        entry("mute", "r1/h1", "U1", 4),
        entry("mute", "r1/h2", "U1", 3),
        entry("mute-all", "r2", "U1", 2),
        entry("unmute-all", "r3", "U1", 1),
        entry("mute-all", "r3", "U1", 0),
        entry("mute", "r9/h9", "U2", 0),  # someone else's
    ]
    standing = mutes_standing(newest_first, "U1")
    assert [(m.rule_id, m.alert_id) for m in standing] == [("r1", "h2"), ("r2", None)]
