"""Slack listeners and the Block Kit they render: one package per feature, and the shared
plumbing beside them (`handlers.shared`, which imports no feature).

`FEATURES` lists each feature's `register(plumbing) -> Contribution`; `build_catalog()` gathers each
feature's actions (its catalog rows and command parsers) into the catalog the plumbing is built with.
The composition root merges them. `STEPS` lists the Workflow Builder steps the features offer, which
manifest.json declares (`manifest_functions()`; a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable

from handlers import access, alerting, alerts, apm, cases, health, home, unfurls
from handlers.alerting import steps as alerting_steps
from handlers.cases import step as case_step
from handlers.health import step as health_step
from handlers.shared.catalog import Catalog
from handlers.shared.feature import Contribution, Plumbing
from handlers.shared.steps import Step

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


# The Workflow Builder steps the features offer, in the order manifest.json's `functions` lists them.
STEPS: tuple[Step, ...] = (*alerting_steps.STEPS, *case_step.STEPS, *health_step.STEPS)


def manifest_functions() -> dict[str, object]:
    """manifest.json's `functions`: every step's title, description and typed inputs and outputs."""
    return {step.callback_id: step.manifest() for step in STEPS}


def build_catalog() -> Catalog:
    """Every feature's actions, in the order `help` lists them."""
    return Catalog(
        health.ACTIONS,
        alerts.ACTIONS,
        alerting.ACTIONS,
        alerting.MAINTENANCE_ACTIONS,
        cases.ACTIONS,
        apm.ACTIONS,
        access.ACTIONS,
        home.ACTIONS,
    )
