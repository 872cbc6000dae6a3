"""The rule and alert writes (mute, unmute, mute-all, unmute-all, disable, enable, snooze,
unsnooze), shared by the slash command, the rule card and the alert-message buttons.

One row per write: its catalog action, the Kibana call, the receipt's wording, what messages that
show the rule show once it is done, and how its button looks. `apply` runs a row, records it in
the audit trail and returns the receipt (a past-tense sentence).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.kibana.errors import KibanaBadRequest, KibanaError, KibanaUnavailable
from bot.kibana.models import Rule
from bot.services import Services
from handlers.alerting import actions, timed_mutes
from handlers.alerting.mute_end import MuteEnd
from handlers.alerting.target import Target
from handlers.shared.audit import audited, record
from handlers.shared.blocks import code, escape
from handlers.shared.catalog import Action
from handlers.shared.context import Actor
from handlers.shared.errors import Refused
from handlers.shared.grammar import duration_minutes
from handlers.shared.guard import NothingToDo
from handlers.shared.outcome import Done

log = logging.getLogger(__name__)

# Kibana no longer has the schedule (it ended and was cleaned up, or someone cancelled it in Kibana).
_GONE = re.compile(r"Rule has no snooze schedule(s\.| with id )")
# After a snooze Kibana did not answer in time: when to read the rule back, in seconds (about 4 s in all).
READ_BACK_PAUSES = (0.0, 1.0, 3.0)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Place:
    """Where a timed mute's end and reminder are told: the alert message's thread, or the channel."""

    channel: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Asked:
    """One write as asked: by whom, on what, with which choices."""

    services: Services
    actor: Actor
    target: Target
    untrack: bool = False
    duration: str | None = None
    schedule_id: str | None = None
    end: MuteEnd | None = None  # a mute's end (resolved by `_timed` from the spec in `duration`)
    place: Place = Place()  # where the end, and the reminder before it, are told

    @property
    def alert_id(self) -> str:
        assert self.target.alert_id is not None, "an alert write without an alert"
        return self.target.alert_id

    @property
    def where(self) -> str:
        space = self.target.space
        return f"rule {code(self.target.rule_id)}" + ("" if space == "default" else f" (space {code(space)})")


@dataclass(frozen=True)
class StateChange:
    """What messages showing the rule show once a write is done (None: what it was)."""

    rule_muted_all: bool | None = None
    rule_enabled: bool | None = None
    alert_muted: bool | None = None  # of the alert the write named

    def rule_fields(self) -> dict[str, bool]:
        """The rule-level changes, by the field name alert messages and alert groups store them under."""
        fields = {"rule_muted_all": self.rule_muted_all, "rule_enabled": self.rule_enabled}
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Confirm:
    title: str
    text: str  # `{rule}` names the rule
    ok: str


@dataclass(frozen=True)
class Button:
    """A write's button on the rule card and alert messages; it shows while pressing it would change
    something (Mute all, or Unmute all once all are muted)."""

    label: str
    style: Literal["primary", "danger"] | None = None
    confirm: Confirm | None = None
    menu: str | None = None  # for an alert write: the placeholder of a group message's menu of alerts


@dataclass(frozen=True)
class Write:
    action: Action  # the catalog's row: its name, role and buttons
    call: Callable[[Asked], Awaitable[str | None]]  # the Kibana call; returns what Kibana named (a schedule id)
    receipt: Callable[[Asked, str | None], str]  # what happened, in words
    change: StateChange = StateChange()
    button: Button | None = None
    of_alert: bool = False  # acts on one alert: its target names the alert
    prepare: Callable[[Asked], Awaitable[Asked]] | None = None  # checks what was asked, before Kibana is called

    @property
    def name(self) -> str:
        return self.action.name


@dataclass(frozen=True)
class Written(Done):
    """A rule or alert write that happened, and on what."""

    write: Write
    target: Target

    @property
    def change(self) -> StateChange:
        return self.write.change


async def apply(
    services: Services,
    actor: Actor,
    write: Write,
    target: Target,
    *,
    untrack: bool = False,
    duration: str | None = None,
    schedule_id: str | None = None,
    place: Place | None = None,
) -> str:
    """Run one write against Kibana and return what happened, in words. For a mute, `duration` is
    when it ends (a spec of handlers/alerting/mute_end.py); `place` is where its end is told."""
    asked = Asked(
        services,
        actor,
        target,
        untrack=untrack,
        duration=duration,
        schedule_id=schedule_id,
        place=place or Place(actor.channel_id),
    )
    if write.prepare is not None:
        asked = await write.prepare(asked)

    async def run() -> str:
        return write.receipt(asked, await write.call(asked))

    return await audited(services, actor, write.name, target, run(), detail=lambda sentence: sentence)


# ---- the calls that are more than one Kibana call -------------------------------------------


async def _allowed_snooze(asked: Asked) -> Asked:
    """The snooze's duration, checked as the command checks it (whichever path it came by), and
    allowed for this person: longer than a day needs the role of `snooze-long`."""
    services, actor, target, duration = asked.services, asked.actor, asked.target, asked.duration
    try:
        checked = actions.snooze_duration(duration or "")
    except ValueError as error:
        await record(services, actor, "snooze", target, result="refused", detail=f"duration {duration!r}: {error}")
        raise Refused(f"That snooze length is not one the bot accepts: {escape(str(error))}") from None
    if duration_minutes(checked) <= actions.LONGEST_SHORT_SNOOZE_MINUTES:
        return replace(asked, duration=checked)
    refusal = await services.access.check(actor.user_id, actor.channel_id, actions.SNOOZE_LONG, target.space)
    if refusal is None:
        return replace(asked, duration=checked)
    needs = f"for {checked}: longer than 1 day needs {refusal.needed.name.lower()}"
    await record(services, actor, "snooze", target, result="refused", detail=needs)
    raise Refused(refusal.message())


async def _snooze(asked: Asked) -> str:
    assert asked.duration is not None
    services, target = asked.services, asked.target
    start = datetime.now(UTC)
    try:
        schedule_id = (
            await services.kibana.snooze_rule(target.rule_id, asked.duration, start=start, space=target.space)
        ).id
    except KibanaUnavailable as error:
        # Kibana may have snoozed and answered too late: look for the schedule before saying anything.
        found = await _snoozed_at(asked, start) if error.request_sent else None
        if found is None:
            raise  # the person is told it is not known whether it happened, and to check in Kibana
        log.info("snooze of rule %s: Kibana did not answer, but the rule shows schedule %s", target.rule_id, found)
        schedule_id = found
    # Kibana's public rule API does not show the schedule: remember it (for unsnooze, "snoozed until").
    # When the database does not answer, the record waits for it (the receipt says so).
    await services.store.remember_snooze(
        space=target.space,
        rule_id=target.rule_id,
        schedule_id=schedule_id,
        ends_at=start + snooze_length(asked.duration),
        created_by=asked.actor.user_id,
        channel=asked.place.channel,
        thread_ts=asked.place.thread_ts,
        remind_before=services.settings.mute_reminder_before,
    )
    return schedule_id


async def _snoozed_at(asked: Asked, start: datetime) -> str | None:
    """The id of the rule's schedule that starts at `start` and lasts the snooze's length, read back
    from Kibana (the rule shows its schedules from 9.3 on); None when it is not there or not readable."""
    assert asked.duration is not None
    length_ms = snooze_length(asked.duration).total_seconds() * 1000
    for pause in READ_BACK_PAUSES:  # Kibana may still be at it: look again a little later, bounded
        await asyncio.sleep(pause)
        try:
            rule: Rule = await asked.services.kibana.get_rule(asked.target.rule_id, space=asked.target.space)
        except KibanaError:
            return None
        for schedule in rule.snooze_schedule:
            began = schedule.rrule.get("dtstart")
            try:
                began_at = datetime.fromisoformat(str(began).replace("Z", "+00:00"))
            except ValueError:
                continue
            if schedule.id and abs((began_at - start).total_seconds()) < 0.001 and schedule.duration == length_ms:
                return schedule.id
    return None


def _snooze_receipt(asked: Asked, schedule: str | None) -> str:
    said = f"snoozed {asked.where} for {asked.duration} (schedule {code(schedule or '')})"
    target = asked.target
    if schedule and asked.services.store.snooze_unrecorded(
        space=target.space, rule_id=target.rule_id, schedule_id=schedule
    ):
        unsnooze = f"{asked.services.settings.slack_command} unsnooze {target.rule_id} {schedule}"
        said += (
            "; the bot's database is not answering, so it will record the schedule once it does "
            f"(until then {code(unsnooze)} cancels it)"
        )
    return said


async def _unsnooze(asked: Asked) -> str | None:
    services, rule, space, schedule_id = asked.services, asked.target.rule_id, asked.target.space, asked.schedule_id
    if schedule_id:
        try:
            await services.kibana.unsnooze_rule(rule, schedule_id, space=space)
        except KibanaBadRequest as error:
            if _GONE.search(error.message):  # Kibana no longer has it: the bot forgets it too
                await services.store.forget_snooze(space=space, rule_id=rule, schedule_id=schedule_id)
            raise
        await services.store.forget_snooze(space=space, rule_id=rule, schedule_id=schedule_id)
        return schedule_id
    if not await _unsnooze_all(services, asked.target):
        raise NothingToDo(
            f"Rule {code(rule)} has no snooze schedule to cancel that the bot knows of. Kibana's API does not "
            "always list snoozes made in Kibana itself: cancel those in Kibana, or with "
            f"{code(f'unsnooze {rule} <schedule_id>')}."
        )
    return None


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


# ---- the table --------------------------------------------------------------------------------


def _ends(asked: Asked) -> str:
    return "" if asked.end is None else asked.end.words(asked.services.settings.zone)


MUTE = Write(
    actions.MUTE,
    call=timed_mutes.mute,
    receipt=lambda a, _: f"muted alert {code(a.alert_id)} of {a.where}{_ends(a)}",
    change=StateChange(alert_muted=True),
    button=Button("Mute alert", menu="Mute one alert…"),
    of_alert=True,
    prepare=timed_mutes.resolve_end,
)
UNMUTE = Write(
    actions.UNMUTE,
    call=timed_mutes.unmute,
    receipt=lambda a, _: f"unmuted alert {code(a.alert_id)} of {a.where}",
    change=StateChange(alert_muted=False),
    button=Button("Unmute alert", menu="Unmute one alert…"),
    of_alert=True,
)
MUTE_ALL = Write(
    actions.MUTE_ALL,
    call=timed_mutes.mute_all,
    receipt=lambda a, _: f"muted all alerts of {a.where}{_ends(a)}",
    change=StateChange(rule_muted_all=True),
    prepare=timed_mutes.resolve_end,
    button=Button(
        "Mute all",
        confirm=Confirm(
            "Mute all alerts?", "No notifications for any alert of {rule} until someone unmutes it.", "Mute all"
        ),
    ),
)
UNMUTE_ALL = Write(
    actions.UNMUTE_ALL,
    call=timed_mutes.unmute_all,
    receipt=lambda a, _: f"unmuted all alerts of {a.where}",
    change=StateChange(rule_muted_all=False),
    button=Button("Unmute all"),
)
DISABLE = Write(
    actions.DISABLE,
    call=lambda a: a.services.kibana.disable_rule(a.target.rule_id, untrack=a.untrack, space=a.target.space),
    receipt=lambda a, _: f"disabled {a.where}" + (" and untracked its alerts" if a.untrack else ""),
    change=StateChange(rule_enabled=False),
    button=Button("Disable…", style="danger"),  # opens the form that asks whether to untrack
)
ENABLE = Write(
    actions.ENABLE,
    call=lambda a: a.services.kibana.enable_rule(a.target.rule_id, space=a.target.space),
    receipt=lambda a, _: f"enabled {a.where}",
    change=StateChange(rule_enabled=True),
    button=Button("Enable", style="primary"),
)
SNOOZE = Write(
    actions.SNOOZE,
    call=_snooze,
    receipt=_snooze_receipt,
    prepare=_allowed_snooze,  # its button is the snooze menu (buttons.snooze_menu)
)
UNSNOOZE = Write(
    actions.UNSNOOZE,
    call=_unsnooze,
    receipt=lambda a, schedule: (
        f"cancelled snooze schedule {code(schedule)} of {a.where}" if schedule else f"cancelled the snooze of {a.where}"
    ),
)

WRITES: tuple[Write, ...] = (MUTE, UNMUTE, MUTE_ALL, UNMUTE_ALL, DISABLE, ENABLE, SNOOZE, UNSNOOZE)
