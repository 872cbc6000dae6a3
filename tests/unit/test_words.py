"""Real singulars and plurals in what the bot says ("1 alert", "2 alerts"), never "alert(s)"."""

from __future__ import annotations

from bot.kibana.models import Rule
from handlers.alerting.rule_card import rule_state
from handlers.shared.words import count


def test_count_says_one_in_the_singular_and_others_in_the_plural() -> None:
    assert [count(n, "alert") for n in (0, 1, 2)] == ["0 alerts", "1 alert", "2 alerts"]
    assert count(1, "entry", "entries") == "1 entry" and count(3, "entry", "entries") == "3 entries"


def test_the_rule_state_counts_in_words() -> None:
    rule = Rule.model_validate(
        {
            "id": "r1",
            "name": "CPU high",
            "rule_type_id": ".index-threshold",
            "enabled": True,
            "mute_all": False,
            "muted_alert_ids": ["host-1"],
            "tags": [],
            "last_run": {"outcome": "succeeded", "alerts_count": {"active": 1}},
        }
    )
    assert "1 alert muted" in rule_state(rule) and "1 active alert" in rule_state(rule)
    assert "(s)" not in rule_state(rule)
    two = Rule.model_validate(
        {
            **rule.model_dump(),
            "muted_alert_ids": ["a", "b"],
            "last_run": {"outcome": "succeeded", "alerts_count": {"active": 2}},
        }
    )
    assert "2 alerts muted" in rule_state(two) and "2 active alerts" in rule_state(two)
