"""The *Mute a Kibana alert* step's *Mute until* input (handlers/alerting/steps.py) becomes the words the
`mute` command takes after the ids, and the command's own parser judges them."""

from __future__ import annotations

import pytest

from handlers.alerting.actions import ACTIONS, AlertArgs
from handlers.alerting.steps import until_words
from handlers.shared.grammar import UsageError


@pytest.mark.parametrize(
    ("typed", "spec"),
    [
        ("", None),
        ("1h", "for:1h"),
        ("30m", "for:30m"),
        ("for 4h", "for:4h"),
        ("FOR 2d", "for:2d"),
        ("09:00", "at:09:00"),
        ("until 9:05", "at:09:05"),
        ("tomorrow 09:00", "tomorrow:09:00"),
        ("until tomorrow 09:00", "tomorrow:09:00"),
        ("2026-12-07T09:00", "iso:2026-12-07T09:00"),
    ],
)
def test_the_forms_the_command_takes(typed: str, spec: str | None) -> None:
    command = ACTIONS.parsers["mute"](["r1", "host-1", *until_words(typed)])
    assert command.args_as(AlertArgs).end == spec


@pytest.mark.parametrize("typed", ["whenever", "until it gets worse", "for ever", "25:00", "0h"])
def test_others_are_refused_with_the_commands_sentence(typed: str) -> None:
    with pytest.raises(UsageError):
        ACTIONS.parsers["mute"](["r1", "host-1", *until_words(typed)])
