"""The cases feature's words for the Kibana errors of its calls: a case that is gone, and custom fields
that Kibana's case settings require but a case opened from Slack cannot fill. `actions.py` contributes
it to the catalog, which asks it before the generic sentences (`handlers.shared.errors`)."""

from __future__ import annotations

import re

from bot.kibana.errors import KibanaBadRequest, KibanaError, KibanaNotFound
from handlers.shared.blocks import escape
from handlers.shared.errors import Doing, where

CASE_ROUTES = "/api/cases"
_CUSTOM_FIELDS = re.compile(r"Missing required custom fields without default value configured:?\s*(?P<fields>.*)", re.S)


def explain(error: KibanaError, doing: Doing) -> str | None:
    if isinstance(error, KibanaNotFound) and CASE_ROUTES in (error.path or ""):
        return f"That case no longer exists {where(doing)}: {escape(error.message)}."
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
