"""Text that did not come from the bot cannot read as something else in Slack: control characters and
Unicode's bidirectional controls are made visible by the one escape path (handlers/shared/blocks.py);
and when Slack fails, people are told so, not to reinstall the app (bot/request_context.py)."""

from __future__ import annotations

import re

import pytest
from slack_sdk.errors import SlackApiError

from bot.request_context import authorize_failure
from handlers.shared.blocks import DECEPTIVE, code, escape, header, option, plain, visible

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]


def test_an_override_cannot_make_an_id_read_as_another() -> None:
    shown = code("host-1\u202e2-tsoh")
    assert "\u202e" not in shown
    assert shown == "`host-1[U+202E]2-tsoh`"


@pytest.mark.parametrize("mark", BIDI)
def test_every_bidi_control_is_shown_for_what_it_is(mark: str) -> None:
    for render in (escape, code, lambda t: header(t)["text"]["text"], lambda t: plain(t)["text"]):
        shown = render(f"a{mark}b")
        assert mark not in shown and f"[U+{ord(mark):04X}]" in shown


def test_control_characters_become_their_pictures() -> None:
    assert escape("red \x1b[31m text") == "red \u241b[31m text"  # ESC → ␛
    assert escape("nul\x00 del\x7f") == "nul\u2400 del\u2421"
    assert escape("c1\x9b") == "c1[U+009B]"
    assert escape("tab\tand\nlines\r") == "tab\tand\nlines\r"  # what Slack shows as it is stays


def test_an_id_also_shows_the_invisible_characters_that_make_two_ids_look_alike() -> None:
    assert code("host\u200b-1") == "`host[U+200B]-1`"
    assert option("host\ufeff-1", "v")["text"]["text"] == "host[U+FEFF]-1"
    assert escape("family \u200d emoji") == "family \u200d emoji"  # in prose a joiner is a joiner


def test_nothing_deceptive_is_left_and_mrkdwn_is_still_escaped() -> None:
    every = "".join(chr(c) for c in range(0x2100) if re.fullmatch(f"[{DECEPTIVE}]", chr(c)))
    assert len(every) == 29 + 1 + 32 + 3 + 5 + 4
    assert not re.search(f"[{DECEPTIVE}]", visible(every))
    assert escape("\u202e<!channel>") == "[U+202E]&lt;!channel&gt;"


def test_each_auth_test_failure_is_told_for_what_it_is() -> None:
    """Bolt's "reinstall this app" is never what a person reads when Slack does not answer auth.test."""
    failing = authorize_failure(SlackApiError("down", {"ok": False, "error": "fatal_error"}))
    assert failing.startswith(":warning: Slack is failing right now") and "`fatal_error`" in failing
    unreachable = authorize_failure(ConnectionResetError())
    assert unreachable.startswith(":warning: Slack is failing right now") and "ConnectionResetError" in unreachable
    assert "rate-limiting" in authorize_failure(SlackApiError("wait", {"ok": False, "error": "ratelimited"}))
    revoked = authorize_failure(SlackApiError("no", {"ok": False, "error": "token_revoked"}))
    assert "refused the bot's token (`token_revoked`)" in revoked and "SLACK_BOT_TOKEN" in revoked
    for sentence in (failing, unreachable):
        assert "reinstall" not in sentence
