"""Alert documents read from alerts-as-data, turned into the delivery the webhook would have parsed.

Kibana puts no limits on rule data; the bot's delivery (`AlertDelivery`, the webhook's model) bounds
what it keeps and shows. A document over one of its bounds is shown clipped to it (an alert id of
600 characters keeps its first 511 and "…"; the alert's uuid still tells it from any other). A
document that cannot be shown at all (no alert id, a rule id the bot cannot act on, a field
Elasticsearch holds in another type) is skipped. Either is reported (`Reported`): logged once per
space and cause each REPORT_EVERY, never once per tick, and never stops the alerts after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import annotated_types
from pydantic import ValidationError

from bot.alerts_index import AlertChange
from handlers.alerts.card_facts import from_document
from handlers.alerts.webhook import AlertDelivery

log = logging.getLogger(__name__)

REPORT_EVERY = timedelta(hours=1)
UNTRACKED = "The alert is no longer tracked (its rule was disabled or deleted, or the alert was untracked)."


def _limits() -> dict[str, int]:
    """The delivery's bounds, read from the model itself (so they follow it): field → max length."""
    limits: dict[str, int] = {}
    for name, info in AlertDelivery.model_fields.items():
        for rule in info.metadata:
            if isinstance(rule, annotated_types.MaxLen):
                limits[name] = rule.max_length
    return limits


LIMITS = _limits()


def clipped(fields: dict[str, Any]) -> list[str]:
    """Clip `fields` in place to the delivery's bounds; returns what was clipped, in words."""
    causes: list[str] = []
    for name, value in fields.items():
        limit = LIMITS.get(name)
        if limit is None:
            continue
        if isinstance(value, str):
            text = value.strip()  # the model strips whitespace: clip what it keeps
            if len(text) > limit:
                fields[name] = text[: limit - 1] + "…"
                causes.append(f"{name} over {limit} characters")
        elif isinstance(value, list) and len(value) > limit:
            fields[name] = value[:limit]
            causes.append(f"more than {limit} {name}")
    return causes


def delivery_of(change: AlertChange, space: str) -> tuple[AlertDelivery, list[str]]:
    """The delivery the webhook connector would have sent for this alert document, clipped to the
    delivery's bounds, and what was clipped. Raises `ValidationError` when it cannot be shown."""
    finished = change.finished
    reason = change.reason or ""
    if change.untracked and not reason:
        reason = UNTRACKED
    fields: dict[str, Any] = {
        "rule_id": change.rule_uuid,
        "rule_name": change.rule_name,
        "space_id": space,
        "alert_id": change.instance_id,
        "alert_uuid": change.alert_uuid,
        "action_group": "recovered" if finished else change.action_group or "active",
        "state": "recovered" if finished else "active",
        "reason": reason,
        "tags": list(change.rule_tags),
        "date": change.end if finished and change.end else change.start or change.timestamp,
    }
    causes = clipped(fields)
    fields["facts"] = from_document(change.carried)
    return AlertDelivery(**fields), causes


def cause_of(error: ValidationError) -> str:
    """The first thing the delivery refused, in words: "rule_id: a Kibana rule id has only …"."""
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


class Reported:
    """Reports a document problem of a space once per cause each `every` (the log says which document)."""

    def __init__(self, every: timedelta = REPORT_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every.total_seconds()
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def __call__(self, space: str, cause: str, what: str) -> bool:
        """Log `what` (which document, what happens to it) unless `cause` was logged for `space` lately."""
        now = self.clock()
        last = self._last.get((space, cause))
        if last is not None and now - last < self.every:
            return False
        if len(self._last) > 10_000:  # causes are few; a flood of distinct ones must not grow forever
            self._last.clear()
        self._last[(space, cause)] = now
        log.warning(
            "alert polling: space %s: %s (%s; said once per cause every %d min)", space, what, cause, self.every // 60
        )
        return True
