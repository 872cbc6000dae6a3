"""The cases feature's Workflow Builder step: *Open a Kibana case*.

It opens the case exactly once per step execution: the execution's id is the case's de-duplication
key (handlers/cases/creation.py), so a redelivered event or a retried call finds the case it made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.kibana.errors import KibanaError
from bot.kibana.models.cases import CaseCreate, CaseSeverity
from handlers.cases.actions import CASE, OPEN_CASE_STEP, TITLE_LIMIT
from handlers.cases.creation import CaseOutcomeUnknown, CaseStillPending, open_case_once
from handlers.shared.audit import record
from handlers.shared.blocks import escape
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.steps import RUN_BY, SPACE, SUMMARY, Param, Step, StepInputError, StepRun, step_listener

DESCRIPTION_LIMIT = 30_000  # Kibana's limit of a case description
SEVERITIES: tuple[CaseSeverity, ...] = ("low", "medium", "high", "critical")

TITLE = Param("title", "string", "Title", f"The case's title (at most {TITLE_LIMIT} characters)")
DESCRIPTION = Param(
    "description",
    "string",
    "Description",
    "What happened; empty: the title, and who opened the case from which workflow",
    required=False,
)
SEVERITY = Param("severity", "string", "Severity", "low, medium, high or critical; empty: low", required=False)
CASE_ID = Param("case_id", "string", "Case id", "The new case's id in Kibana")
CASE_URL = Param("case_url", "string", "Case link", "The case's address in Kibana")


def _title(inputs: Mapping[str, Any]) -> str:
    title = inputs.get(TITLE.name)
    return title if isinstance(title, str) else ""


async def open_case(run: StepRun) -> dict[str, Any]:
    title = run.text(TITLE.name, limit=TITLE_LIMIT)
    if not title:
        raise StepInputError("The step's *Title* input is empty: a Kibana case needs a title.")
    typed = run.word(SEVERITY.name).lower() or "low"
    severity = next((s for s in SEVERITIES if s == typed), None)
    if severity is None:
        raise StepInputError(f"`{escape(typed[:20])}` is not a case severity: use low, medium, high or critical.")
    who = run.actor.mention
    description = (
        run.text(DESCRIPTION.name, limit=DESCRIPTION_LIMIT) or f"{title}\n\nOpened by {who} from a Slack workflow."
    )
    services = run.services
    case = CaseCreate(
        title=title,
        description=description,
        severity=severity,
        owner=services.settings.case_owner,
    )
    try:
        opened = await open_case_once(
            services, key=f"step:{run.execution_id}", case=case, space=run.space, channel=None, message_ts=None
        )
    except CaseOutcomeUnknown as unknown:
        await record(
            services,
            run.actor,
            CASE.name,
            title,
            result="error",
            space=run.space,
            kibana_status=unknown.cause.status_code,
            detail=f"outcome unknown: {unknown.cause}",
        )
        raise StepInputError(
            "Kibana did not answer in time while opening the case, and no case from this step exists, so it was "
            "most likely not created. Check Kibana's case list before running the workflow again."
        ) from None
    except CaseStillPending:
        raise StepInputError("This step is already opening the case; its outcome is not known yet.") from None
    except KibanaError as error:
        await record(
            services,
            run.actor,
            CASE.name,
            title,
            result="error",
            space=run.space,
            kibana_status=error.status_code,
            detail=str(error),
        )
        raise
    if opened.recorded_here:
        await record(services, run.actor, CASE.name, opened.case_id, result="ok", space=run.space, detail=title)
    link = f"<{opened.url}|{escape(title)}>" if opened.url else escape(title)
    return {
        CASE_ID.name: opened.case_id,
        CASE_URL.name: opened.url,
        SUMMARY.name: f"{who} opened Kibana case {link}.",
    }


OPEN_CASE = Step(
    OPEN_CASE_STEP,
    "Open a Kibana case",
    "Open a case in Kibana, as the person who runs the workflow",
    CASE,
    inputs=(TITLE, DESCRIPTION, SEVERITY, SPACE, RUN_BY),
    outputs=(CASE_ID, CASE_URL, SUMMARY),
    run=open_case,
    target=_title,
)
STEPS = (OPEN_CASE,)


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    return {s.callback_id: step_listener(plumbing, s) for s in STEPS}
