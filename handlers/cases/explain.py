"""The cases feature's words for the Kibana errors of its calls: a case that is gone, a case that is full
(1,000 alerts, 10,000 user actions) or closed to alerts, and custom fields that Kibana's case settings
require but a case opened from Slack cannot fill. `actions.py` contributes
it to the catalog, which asks it before the generic sentences (`handlers.shared.errors`)."""

from __future__ import annotations

import re

from bot.kibana.errors import KibanaBadRequest, KibanaError, KibanaNotFound
from handlers.shared.blocks import escape
from handlers.shared.errors import Doing, where

CASE_ROUTES = "/api/cases"
_LIMIT = re.compile(
    r"(?:Case has reached the maximum allowed number \((?P<alerts>\d+)\) of attached alerts"
    r"|has reached the limit of (?P<actions>\d+) user actions)"
)
_CLOSED = "Alert cannot be attached to a closed case"
_CUSTOM_FIELDS = re.compile(r"Missing required custom fields without default value configured:?\s*(?P<fields>.*)", re.S)


def explain(error: KibanaError, doing: Doing) -> str | None:
    if isinstance(error, KibanaNotFound) and CASE_ROUTES in (error.path or ""):
        return f"That case no longer exists {where(doing)}: {escape(error.message)}."
    if isinstance(error, KibanaBadRequest) and (limit := _LIMIT.search(error.message)) is not None:
        if limit.group("alerts"):
            return (
                f"Kibana refused: a case holds at most {int(limit.group('alerts')):,} alerts and this one is full. "
                "Attach the alerts to another case."
            )
        return (
            f"Kibana refused: a case records at most {int(limit.group('actions')):,} changes and comments, and this "
            "one has reached that. Add to another case, or open a new one."
        )
    if isinstance(error, KibanaBadRequest) and _CLOSED in error.message:
        return "Kibana refused: the case was closed meanwhile, and a closed case takes no alerts. Choose an open case."
    if isinstance(error, KibanaBadRequest) and (fields := required_custom_fields(error.message)) is not None:
        named = f" ({fields})" if fields else ""
        return (
            f"Kibana refused the case: this owner's case settings require custom fields{named} that have no "
            "default value, and cases opened from Slack cannot fill them. A Kibana admin can give them a default "
            "or make them optional (Cases → Settings)."
        )
    return None


def required_custom_fields(message: str) -> str | None:
    """The custom fields named in Kibana's 400 — Kibana lists their labels, quoted
    (`…configured: "Team", "Ticket"`) — "" when it names none, None for another message."""
    found = _CUSTOM_FIELDS.search(message)
    if found is None:
        return None
    return ", ".join(f"`{name}`" for name in re.findall(r'"([^"]*)"', found.group("fields")))
