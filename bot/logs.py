"""Logging set-up: text or JSON lines, and every configured secret redacted.

Redaction happens on the final formatted line (message, arguments and
traceback alike), so no code path can leak a token by logging an object whose
repr contains it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"

# A form field whose block id ends in `_secret` (the connect form's API key) holds a secret: Slack's
# payloads carry what was typed in it (the view's `state`), and the Socket Mode client logs whole
# payloads at DEBUG. Its value is removed from every line, whoever logs it.
FORM_SECRET = re.compile(
    r'("[A-Za-z0-9_.-]*_secret"\s*:\s*\{\s*"[^"]*"\s*:\s*\{[^{}]*?"value"\s*:\s*")((?:[^"\\]|\\.)*)(")'
)


def hide_form_secrets(text: str) -> str:
    if '_secret"' not in text:  # nearly every line: no regular expression run
        return text
    return FORM_SECRET.sub(lambda found: found.group(1) + REDACTED + found.group(3), text)


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RedactingFormatter(logging.Formatter):
    """Formats a record as text or JSON, then removes every secret from it."""

    def __init__(self, secrets: Iterable[str], *, json_lines: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.get()
        if self.json_lines:
            entry: dict[str, object] = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname,
                "logger": record.name,
                "request_id": request_id.get(),
                "message": hide_form_secrets(record.getMessage()),
            }
            if record.exc_info:
                entry["exception"] = self.formatException(record.exc_info)
            line = json.dumps(entry, ensure_ascii=False, default=str)
        else:
            line = hide_form_secrets(super().format(record))
        return self.redact(line)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, json_lines=fmt == "json"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line at INFO; keep it at WARNING unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # The store logs one line per schema upgrade; Alembic's own lines are for debugging.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
