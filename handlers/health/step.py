"""The health feature's Workflow Builder step: *Get alerting health* of a Kibana space.

Kibana not answering is a result here, as in the scheduled reports (status `unreachable`, and why in
the summary); a person's own key that Kibana refuses (KIBANA_IDENTITY=person) fails the step.
"""

from __future__ import annotations

from typing import Any

from handlers.health.actions import HEALTH, HEALTH_STEP
from handlers.health.report import check_health, health_text
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.steps import RUN_BY, SPACE, SUMMARY, Param, Step, StepRun, step_listener

STATUS = Param("status", "string", "Status", "ok, warn (a part of alerting is not ok) or unreachable")
HEALTHY = Param("healthy", "boolean", "Healthy", "Whether every part of Kibana alerting is ok")


async def alerting_health(run: StepRun) -> dict[str, Any]:
    outcome = await check_health(run.services.kibana, run.space)
    parts = ", ".join(f"{name}: {state}" for name, (state, _) in outcome.sub_states().items())
    summary = health_text(outcome) + (f" — {parts}" if parts else "")
    return {STATUS.name: outcome.status, HEALTHY.name: outcome.status == "ok", SUMMARY.name: summary}


ALERTING_HEALTH = Step(
    HEALTH_STEP,
    "Get alerting health",
    "Read Kibana alerting's health in a space: ok, warn or unreachable",
    HEALTH,
    inputs=(SPACE, RUN_BY),
    outputs=(STATUS, HEALTHY, SUMMARY),
    run=alerting_health,
)
STEPS = (ALERTING_HEALTH,)


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    return {s.callback_id: step_listener(plumbing, s) for s in STEPS}
