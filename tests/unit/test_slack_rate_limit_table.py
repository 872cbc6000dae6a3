"""docs/slack-app.md's rate-limit table, derived from the code: it names exactly the Web API methods
the code calls, each in the tier the limiter gives it (bot/slack_limits.py)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.slack_limits import METHOD_TIERS, POST_MESSAGE
from tests.slack_calls import methods_the_code_calls

DOC = Path(__file__).parents[2] / "docs" / "slack-app.md"
ROW = re.compile(r"^\s*\|\s*(Tier \d|Special)\s*\|[^|]*\|(?P<methods>[^|]*)\|\s*$")
METHOD = re.compile(r"`([a-z]+(?:\.[A-Za-z]+)+)`")


def documented_tiers() -> dict[str, str]:
    """Method → the row ("Tier 3", "Special") the table lists it in."""
    found: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        row = ROW.match(line)
        if row is None:
            continue
        for method in METHOD.findall(row.group("methods")):
            assert method not in found, f"{method} is in the table twice"
            found[method] = row.group(1)
    return found


def test_the_table_names_exactly_the_methods_the_code_calls() -> None:
    documented, called = set(documented_tiers()), methods_the_code_calls()
    assert {"chat.postMessage", "conversations.info", "views.open"} <= called  # the scan reads the code
    assert not documented - called, f"the table names methods the code never calls: {sorted(documented - called)}"
    assert not called - documented, f"the table misses methods the code calls: {sorted(called - documented)}"


def test_each_method_is_in_the_tier_the_limiter_gives_it() -> None:
    for method, row in documented_tiers().items():
        assert row == ("Special" if method == POST_MESSAGE else f"Tier {METHOD_TIERS[method]}"), method


def test_the_limiter_has_the_tier_of_exactly_the_methods_the_code_calls() -> None:
    """None falls back to the default tier unnoticed, and none is kept for a method the code never calls."""
    assert set(METHOD_TIERS) == methods_the_code_calls() - {POST_MESSAGE}
