"""The rule and alert writes (mute, unmute, mute-all, unmute-all, disable, enable, snooze,
unsnooze), shared by the slash command, the rule card and the alert-message buttons.

Each returns a past-tense sentence for the receipt, and records the action in the audit trail.
"""

from __future__ import annotations

from bot.services import Services
from handlers.shared import catalog
from handlers.shared.audit import audited, record
from handlers.shared.blocks import code, escape
from handlers.shared.codec import Target
from handlers.shared.context import Actor
from handlers.shared.errors import Refused
from handlers.shared.grammar import duration_minutes, parse_duration
from handlers.shared.guard import NothingToDo

WRITES = frozenset({"mute", "unmute", "mute-all", "unmute-all", "disable", "enable", "snooze", "unsnooze"})


async def apply(
    services: Services,
    actor: Actor,
    action: str,
    target: Target,
    *,
    untrack: bool = False,
    duration: str | None = None,
    schedule_id: str | None = None,
) -> str:
    """Run one write against Kibana and return what happened, in words."""
    if action == "snooze":
        duration = await _allowed_snooze(services, actor, target, duration)
    call = _call(services, action, target, untrack=untrack, duration=duration, schedule_id=schedule_id)
    return await audited(services, actor, action, target, call, detail=lambda sentence: sentence)


async def _allowed_snooze(services: Services, actor: Actor, target: Target, duration: str | None) -> str:
    """The snooze's duration, checked as the command checks it (whichever path it came by), and
    allowed for this person: longer than a day needs the role of `snooze-long`."""
    try:
        checked = parse_duration(duration or "")
    except ValueError as error:
        await record(services, actor, "snooze", target, result="refused", detail=f"duration {duration!r}: {error}")
        raise Refused(f"That snooze length is not one the bot accepts: {escape(str(error))}") from None
    if duration_minutes(checked) <= catalog.LONGEST_SHORT_SNOOZE_MINUTES:
        return checked
    refusal = await services.access.check(actor.user_id, actor.channel_id, catalog.SNOOZE_LONG)
    if refusal is None:
        return checked
    needs = f"for {checked}: longer than 1 day needs {refusal.needed.name.lower()}"
    await record(services, actor, "snooze", target, result="refused", detail=needs)
    raise Refused(refusal.message())


async def _call(
    services: Services,
    action: str,
    target: Target,
    *,
    untrack: bool,
    duration: str | None,
    schedule_id: str | None,
) -> str:
    kibana = services.kibana
    rule, space = target.rule_id, target.space
    where = f"rule {code(rule)}" + ("" if space == "default" else f" (space {code(space)})")
    if action == "mute":
        assert target.alert_id is not None
        await kibana.mute_alert(rule, target.alert_id, space=space)
        return f"muted alert {code(target.alert_id)} of {where}"
    if action == "unmute":
        assert target.alert_id is not None
        await kibana.unmute_alert(rule, target.alert_id, space=space)
        return f"unmuted alert {code(target.alert_id)} of {where}"
    if action == "mute-all":
        await kibana.mute_all(rule, space=space)
        return f"muted all alerts of {where}"
    if action == "unmute-all":
        await kibana.unmute_all(rule, space=space)
        return f"unmuted all alerts of {where}"
    if action == "disable":
        await kibana.disable_rule(rule, untrack=untrack, space=space)
        return f"disabled {where}" + (" and untracked its alerts" if untrack else "")
    if action == "enable":
        await kibana.enable_rule(rule, space=space)
        return f"enabled {where}"
    if action == "snooze":
        assert duration is not None
        schedule = await kibana.snooze_rule(rule, duration, space=space)
        return f"snoozed {where} for {duration} (schedule {code(schedule.id)})"
    if action == "unsnooze":
        ids = [schedule_id] if schedule_id else await _snooze_ids(services, target)
        if not ids:
            raise NothingToDo(f"Rule {code(rule)} has no snooze schedule to cancel.")
        for one in ids:
            await kibana.unsnooze_rule(rule, one, space=space)
        return f"cancelled the snooze of {where}"
    raise ValueError(f"not a rule write: {action}")


async def _snooze_ids(services: Services, target: Target) -> list[str]:
    found = await services.kibana.get_rule(target.rule_id, space=target.space)
    return [s.id for s in found.snooze_schedule if s.id]
