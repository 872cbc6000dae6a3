"""The App Home page (handlers/home/page.py) keeps within Slack's 100 blocks whatever it lists, says
where it cut, escapes what it did not write, and validates with slack_sdk's models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from slack_sdk.models.views import View

from bot.access import Role
from bot.store import AuditEntry, HeldClaim, KnownSnooze, TimedMute
from handlers.home.facts import Claimed, HomeFacts, Muted, OpenedCase, mutes_standing, with_ends
from handlers.home.page import claimed_line, home_view, muted_line

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def held(i: int, *, name: str = "CPU high", alerts: tuple[str, ...] = ("a",), firing: int = 1) -> HeldClaim:
    return HeldClaim(i, "default", f"r{i}", name, alerts, firing, "C0ALERTS", f"1.{i}", NOW)


def page(facts: HomeFacts) -> dict[str, object]:
    view = home_view(facts, command="/kibana", kibana_base="https://kibana.example.com")
    View(**view).validate_json()  # type: ignore[arg-type]
    return view


def test_everything_at_once_stays_within_100_blocks_with_more_lines() -> None:
    facts = HomeFacts(user_id="U1", role=Role.ADMIN, person_mode=True, connected=False)
    facts.claimed = [
        Claimed(held(i, name=f"Rule <!here> {i}"), f"https://acme.slack.com/archives/C0/p{i}") for i in range(40)
    ]
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


def test_a_claim_names_its_alerts_escapes_the_rule_name_and_links_its_message() -> None:
    link = "https://acme.slack.com/archives/C0ALERTS/p1000001"
    one = claimed_line(Claimed(held(1, name="CPU *high* <!channel>"), link))
    assert one == (
        "Alert `a` of rule *CPU *high* &lt;!channel&gt;* (`r1`), claimed 2026-01-05 09:30 UTC"
        f" · <{link}|the alert message>"
    )  # the rule's name is not the bot's: escaped
    many = claimed_line(Claimed(held(2, alerts=("a", "b", "c"), firing=7)))
    assert many.startswith("7 alerts (`a`, `b`, `c`…) of rule") and many.endswith("in <#C0ALERTS>")
    over = claimed_line(Claimed(held(3, alerts=(), firing=0)))
    assert over.startswith("The alerts (recovered) of rule")


def test_a_mute_says_when_it_ends_where_the_bot_knows_it() -> None:
    muted = [Muted("default", "r1", "a", NOW), Muted("default", "r2", None, NOW), Muted("ops", "r3", "b", NOW)]
    common = {"how": "kibana", "created_by": "U1", "channel": None, "thread_ts": None}
    timed = [
        TimedMute(1, "default", "r1", "a", ends_at=NOW + timedelta(hours=1), **common),  # type: ignore[arg-type]
        TimedMute(2, "ops", "r3", "b", ends_at=None, **common),  # type: ignore[arg-type]
        TimedMute(3, "default", "r2", "other", ends_at=NOW, **common),  # type: ignore[arg-type]
    ]
    lines = [muted_line(m) for m in with_ends(muted, timed)]
    assert lines[0] == "Alert `a` of rule `r1`: muted 2026-01-05 09:30 UTC, until 2026-01-05 10:30 UTC"
    assert lines[1] == "All alerts of rule `r2`: muted 2026-01-05 09:30 UTC, until someone unmutes"
    assert lines[2] == "Alert `b` of rule `r3` (space `ops`): muted 2026-01-05 09:30 UTC, until it gets worse"
