"""Writing the audit trail: every state-changing action, whoever made it and however it ended."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot import slack_replays
from bot.access import Refusal
from bot.failure_log import FailureLog
from bot.kibana.errors import KibanaError
from bot.services import Services
from bot.store import AuditEntry
from bot.store.errors import StoreUnavailable
from handlers.shared.catalog import Action
from handlers.shared.context import Actor

log = logging.getLogger(__name__)
_failures = FailureLog(log)

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
    """Append one entry. When the database does not answer, the store keeps the entry and writes it
    once it does; an entry it could not keep either is logged (once per cause and minute), and never
    changes what the person is told about the write itself."""
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
    except Exception as error:
        _failures.failed("audit", "could not write or keep the audit entry for %s on %s", action, what, error=error)


async def ensure_writable(services: Services, actor: Actor, action: Action, target: Subject | str) -> None:
    """Before a write is made: raise StoreUnavailable (and audit the refusal) when it could not be
    checked for a replay or could not be recorded, because the database does not answer."""
    try:
        await slack_replays.ensure_checked()
        if not services.store.may_keep():
            raise StoreUnavailable("too many of the bot's records already wait for it")
    except StoreUnavailable as unavailable:
        await record(services, actor, action.name, target, result="refused", detail=f"store: {unavailable.why}")
        raise


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
