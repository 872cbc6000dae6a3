"""Writing the audit trail: every state-changing action, whoever made it and however it ended."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.store import AuditEntry
from handlers.context import Actor
from handlers.values import Target

log = logging.getLogger(__name__)


async def record(
    services: Services,
    actor: Actor,
    action: str,
    target: Target | str,
    *,
    result: str,
    kibana_status: int | None = None,
    detail: str = "",
    space: str | None = None,
) -> None:
    """Append one entry; a failing store is logged, never hidden from the user's outcome."""
    if isinstance(target, Target):
        what = target.rule_id + (f"/{target.alert_id}" if target.alert_id else "")
        space = target.space
    else:
        what = target
    entry = AuditEntry(
        user_id=actor.user_id,
        user_name=actor.user_name,
        team_id=actor.team_id,
        channel_id=actor.channel_id,
        action=action,
        target=what,
        space=space or services.settings.kibana_space,
        result=result,
        kibana_status=kibana_status,
        detail=detail[:1000],
    )
    try:
        await services.store.add_audit(entry)
    except Exception:
        log.exception("could not write the audit entry for %s on %s", action, what)
