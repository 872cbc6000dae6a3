"""Slack listeners and the Block Kit they render: one package per feature, and the shared
plumbing beside them (`handlers.shared`, which imports no feature).

`FEATURES` lists each feature's `register(plumbing) -> Contribution`; `build_catalog()` gathers each
feature's actions (its catalog rows and command parsers) into the catalog the plumbing is built with.
The composition root merges them.
"""

from __future__ import annotations

from collections.abc import Callable

from handlers import access, alerting, alerts, apm, cases, health, home, unfurls
from handlers.shared.catalog import Catalog
from handlers.shared.feature import Contribution, Plumbing

FEATURES: tuple[tuple[str, Callable[[Plumbing], Contribution]], ...] = (
    ("alerting", alerting.register),
    ("alerts", alerts.register),
    ("cases", cases.register),
    ("health", health.register),
    ("apm", apm.register),
    ("access", access.register),
    ("home", home.register),
    ("unfurls", unfurls.register),
)


def build_catalog() -> Catalog:
    """Every feature's actions, in the order `help` lists them."""
    return Catalog(
        health.ACTIONS, alerts.ACTIONS, alerting.ACTIONS, cases.ACTIONS, apm.ACTIONS, access.ACTIONS, home.ACTIONS
    )
