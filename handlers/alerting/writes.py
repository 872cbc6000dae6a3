"""The rule and alert writes (mute, unmute, mute-all, unmute-all, disable, enable, snooze,
unsnooze), shared by the slash command, the rule card and the alert-message buttons.

Each returns a past-tense sentence for the receipt, and records the action in the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.kibana.errors import KibanaBadRequest
from bot.services import Services
from handlers.alerting import actions
from handlers.alerting.target import Target
from handlers.shared.audit import audited, record
from handlers.shared.blocks import code, escape
from handlers.shared.context import Actor
from handlers.shared.errors import Refused
from handlers.shared.grammar import duration_minutes
from handlers.shared.guard import NothingToDo
from handlers.shared.outcome import Done

# Kibana no longer has the schedule (it ended and was cleaned up, or someone cancelled it in Kibana).
_GONE = re.compile(r"Rule has no snooze schedule(s\.| with id )")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

WRITES = frozenset({"mute", "unmute", "mute-all", "unmute-all", "disable", "enable", "snooze", "unsnooze"})


@dataclass(frozen=True)
class Written(Done):
    """A rule or alert write that happened, and on what."""

    action: str
    target: Target


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
    call = _call(services, actor, action, target, untrack=untrack, duration=duration, schedule_id=schedule_id)
    return await audited(services, actor, action, target, call, detail=lambda sentence: sentence)


async def _allowed_snooze(services: Services, actor: Actor, target: Target, duration: str | None) -> str:
    """The snooze's duration, checked as the command checks it (whichever path it came by), and
    allowed for this person: longer than a day needs the role of `snooze-long`."""
    try:
        checked = actions.snooze_duration(duration or "")
    except ValueError as error:
        await record(services, actor, "snooze", target, result="refused", detail=f"duration {duration!r}: {error}")
        raise Refused(f"That snooze length is not one the bot accepts: {escape(str(error))}") from None
    if duration_minutes(checked) <= actions.LONGEST_SHORT_SNOOZE_MINUTES:
        return checked
    refusal = await services.access.check(actor.user_id, actor.channel_id, actions.SNOOZE_LONG)
    if refusal is None:
        return checked
    needs = f"for {checked}: longer than 1 day needs {refusal.needed.name.lower()}"
    await record(services, actor, "snooze", target, result="refused", detail=needs)
    raise Refused(refusal.message())


async def _call(
    services: Services,
    actor: Actor,
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
        start = datetime.now(UTC)
        schedule = await kibana.snooze_rule(rule, duration, start=start, space=space)
        # Kibana's public rule API does not show the schedule: remember it (for unsnooze, "snoozed until").
        await services.store.remember_snooze(
            space=space,
            rule_id=rule,
            schedule_id=schedule.id,
            ends_at=start + snooze_length(duration),
            created_by=actor.user_id,
        )
        return f"snoozed {where} for {duration} (schedule {code(schedule.id)})"
    if action == "unsnooze":
        if schedule_id:
            try:
                await kibana.unsnooze_rule(rule, schedule_id, space=space)
            except KibanaBadRequest as error:
                if _GONE.search(error.message):  # Kibana no longer has it: the bot forgets it too
                    await services.store.forget_snooze(space=space, rule_id=rule, schedule_id=schedule_id)
                raise
            await services.store.forget_snooze(space=space, rule_id=rule, schedule_id=schedule_id)
            return f"cancelled snooze schedule {code(schedule_id)} of {where}"
        cancelled = await _unsnooze_all(services, target)
        if not cancelled:
            raise NothingToDo(
                f"Rule {code(rule)} has no snooze schedule to cancel that the bot knows of. Kibana's API does not "
                "always list snoozes made in Kibana itself: cancel those in Kibana, or with "
                f"{code(f'unsnooze {rule} <schedule_id>')}."
            )
        return f"cancelled the snooze of {where}"
    raise ValueError(f"not a rule write: {action}")


def snooze_length(duration: str) -> timedelta:
    """`4h` → 4 hours (the grammar's durations: `<n>m|h|d|w`; Kibana's also `s`)."""
    return timedelta(**{_UNITS[duration[-1]]: int(duration[:-1])})


async def _unsnooze_all(services: Services, target: Target) -> list[str]:
    """Cancel every schedule the bot created and every one Kibana reports; a schedule Kibana no longer
    has is forgotten quietly. Returns the ids that were cancelled."""
    rule, space = target.rule_id, target.space
    known = [s.schedule_id for s in await services.store.known_snoozes(space=space, rule_id=rule)]
    reported = await services.kibana.get_rule(rule, space=space)  # also: a missing rule is a 404 here
    ids = list(dict.fromkeys([*known, *(s.id for s in reported.snooze_schedule if s.id)]))
    cancelled = []
    for one in ids:
        try:
            await services.kibana.unsnooze_rule(rule, one, space=space)
            cancelled.append(one)
        except KibanaBadRequest as error:
            if not _GONE.search(error.message):
                raise
        await services.store.forget_snooze(space=space, rule_id=rule, schedule_id=one)
    return cancelled
