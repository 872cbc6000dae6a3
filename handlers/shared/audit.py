"""Writing the audit trail: every state-changing action, whoever made it and however it ended."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Protocol, TypeVar

from bot import metrics, slack_replays
from bot.access import Refusal, Scope
from bot.failure_log import FailureLog
from bot.kibana.acting import kibana_identity
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
    changes what the person is told about the write itself. Refusals are recorded one by one up to
    AUDIT_REFUSALS_PER_MINUTE per person (bot/refusal_bound.py)."""
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
        kibana_identity=kibana_identity(),
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
    """The access policy's answer for `actor` doing `action` in `space` (when it acts in one); a refused
    write is recorded in the audit trail."""
    refusal = await services.access.check(actor.user_id, actor.channel_id, action, space)
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


async def check_in_space(
    services: Services, actor: Actor, action: Action, target: Subject | str, *, space: str
) -> Refusal | None:
    """`check_access` for one record of the bot's that belongs to a space (removing a subscription of
    space `ops`): the grants for that space count, whatever the command's own scope."""
    return await check_access(services, actor, replace(action, scope=Scope.SPACE), target, space=space)


class MadeSubscription(Protocol):
    """A subscription as the access review needs it (alert and health subscriptions both are)."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def space(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def from_config(self) -> bool: ...


async def no_longer_allowed(
    services: Services, subscriptions: Iterable[MadeSubscription], subscribing: Action
) -> frozenset[int]:
    """The ids of the subscriptions whose maker the access policy no longer lets make them (in their
    channel, for their space): the policy changed since. Those declared in settings are the admin's."""
    stale = set()
    for made in subscriptions:
        if made.from_config:
            continue
        if await services.access.check(made.created_by, made.channel, subscribing, made.space) is not None:
            stale.add(made.id)
    return frozenset(stale)


def no_longer_allowed_line(made: MadeSubscription, unsubscribe: str) -> str:
    """The warning a channel's list of subscriptions shows for one that `no_longer_allowed` named."""
    who = f"<@{made.created_by}>" if made.created_by.isalnum() else "its maker"
    return (
        f":warning: the access policy no longer lets {who} (who made it) subscribe this channel in space "
        f"`{made.space}`; it still posts until removed: `{unsubscribe} {made.id}`"
    )
