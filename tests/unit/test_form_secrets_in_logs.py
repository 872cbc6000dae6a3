"""What is typed in a form field whose block id ends in `_secret` (the connect form's API key) never
reaches a log line, in text or JSON, whoever logs the payload (the Socket Mode client logs whole
envelopes at DEBUG)."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import RedactingFormatter
from handlers.access.connect import KEY_BLOCK

KEY = "YWIxMmNkMzQ6c2VjcmV0LXZhbHVl"


def envelope() -> str:
    state = {
        "values": {KEY_BLOCK: {"value": {"type": "plain_text_input", "value": KEY}}, "other": {"v": {"value": "kept"}}}
    }
    return json.dumps({"payload": {"type": "view_submission", "view": {"state": state}}})


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_secret_form_field_is_redacted(json_lines: bool) -> None:
    record = logging.LogRecord(
        "slack_bolt.AsyncApp", logging.DEBUG, __file__, 1, "Received message (data: '%s')", (envelope(),), None
    )
    line = RedactingFormatter([], json_lines=json_lines).format(record)
    assert KEY not in line and "[redacted]" in line
    assert "kept" in line  # other fields stay readable
    assert KEY_BLOCK.endswith("_secret")
