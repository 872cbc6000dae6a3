"""Writing the audit trail: every state-changing action, whoever made it and however it ended."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot import metrics
from bot.access import Refusal
from bot.kibana.errors import KibanaError
from bot.services import Services
from bot.store import AuditEntry
from handlers.shared.catalog import Action
from handlers.shared.context import Actor

log = logging.getLogger(__name__)

T = TypeVar("T")


class Subject(Protocol):
    """What a write acts on, as a feature names it (a rule or an alert, in a space); a plain string
    names it in the default space."""

    @property
    def audit_target(self) -> str: ...

    @property
    def space(self) -> str: ...

    @property
    def rule_id(self) -> str | None: ...


async def record(
    services: Services,
    actor: Actor,
    action: str,
    target: Subject | str,
    *,
    result: str,
    kibana_status: int | None = None,
    detail: str = "",
    space: str | None = None,
) -> None:
    """Append one entry; a failing store is logged, never hidden from the user's outcome. Refusals
    are recorded one by one up to AUDIT_REFUSALS_PER_MINUTE per person (bot/refusal_bound.py)."""
    if result == "refused":
        earlier = _refusal_counted(services, actor, action)
        if earlier is None:
            return
        if earlier:
            detail = f"{detail} (+{earlier} more refused attempts by this person not recorded one by one)"
    rule_id = None
    if isinstance(target, str):
        what = target
    else:
        what, space, rule_id = target.audit_target, target.space, target.rule_id
    entry = AuditEntry(
        user_id=actor.user_id,
        user_name=actor.user_name,
        team=actor.team_id or "",
        channel=actor.channel_id,
        action=action,
        target=what,
        space=space or services.settings.kibana_space,
        result=result,  # type: ignore[arg-type]
        kibana_status=kibana_status,
        detail=detail[:1000],
        rule_id=rule_id,
    )
    try:
        await services.store.add_audit(entry)
    except Exception:
        log.exception("could not write the audit entry for %s on %s", action, what)


def _refusal_counted(services: Services, actor: Actor, action: str) -> int | None:
    """None when this refusal is over the person's bound (counted, not recorded); else how many earlier
    ones were not recorded."""
    per_minute = services.settings.audit_refusals_per_minute
    admission = services.refusals.admit(actor.user_id, per_minute)
    if admission.record:
        return admission.earlier
    metrics.AUDIT_REFUSALS_UNRECORDED.inc()
    if admission.first_over:
        log.warning(
            "refused %s by %s: more than AUDIT_REFUSALS_PER_MINUTE (%d) refusals of this person this minute; "
            "the rest of the minute's are counted, not recorded one by one",
            action,
            actor.user_id,
            per_minute,
        )
    return None


async def audited(
    services: Services,
    actor: Actor,
    action: str,
    target: Subject | str,
    call: Awaitable[T],
    *,
    detail: str | Callable[[T], str] = "",
    space: str | None = None,
) -> T:
    """Run one Kibana write and record it in the audit trail, however it ends."""
    try:
        result = await call
    except KibanaError as error:
        await record(
            services,
            actor,
            action,
            target,
            result="error",
            kibana_status=error.status_code,
            detail=error.message,
            space=space,
        )
        raise
    said = detail(result) if callable(detail) else detail
    await record(services, actor, action, target, result="ok", detail=said, space=space)
    return result


async def check_access(
    services: Services,
    actor: Actor,
    action: Action,
    target: Subject | str,
    *,
    space: str | None = None,
    detail: str = "",
) -> Refusal | None:
    """The access policy's answer for `actor`; a refused write is recorded in the audit trail."""
    refusal = await services.access.check(actor.user_id, actor.channel_id, action)
    if refusal is not None and not action.read_only:
        needs = f"needs {refusal.needed.name.lower()}"
        await record(
            services,
            actor,
            action.name,
            target,
            result="refused",
            detail=f"{detail}: {needs}" if detail else needs,
            space=space,
        )
    return refusal
