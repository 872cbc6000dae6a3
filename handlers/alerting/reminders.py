"""A reminder before a mute or a snooze ends, and its buttons: *Extend 1 h*, *Let it end*, *Unmute now*
(*Cancel the snooze now* for a rule snooze).

The reminder is a thread reply that mentions whoever muted (`mute_endings.py` posts it once across
replicas). Its buttons carry only which mute or snooze they are about (`Ending`); the row must
still be there and have been told in the channel the click comes from, or the value is refused as
forged (and audited by the guard). They perform the catalog's `mute` / `unmute` (`snooze` /
`unsnooze`): the same roles, the same access checks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from bot.store.timed_mutes import HOW_KIBANA, SnoozeToRemind, TimedMute
from handlers.alerting import actions, writes
from handlers.alerting.target import Target
from handlers.shared.audit import audited, record
from handlers.shared.blocks import Block, button, code, section
from handlers.shared.blocks import actions as actions_block
from handlers.shared.codec import ForgedValue, Packed
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Aim, Click, NothingToDo, packed
from handlers.shared.interaction import Interaction
from handlers.shared.outcome import Origin

log = logging.getLogger(__name__)

EXTENSION = timedelta(hours=1)
NO_LONGER = "That mute or snooze has already ended or been undone, so there is nothing to do."


class EndingRef(Packed):
    """What a reminder's button is about: a timed mute (`m`) or a rule snooze (`s`), by its row."""

    kind: Literal["m", "s"] = Field(alias="k")
    row: int = Field(alias="i", ge=1, lt=2**63)


@dataclass(frozen=True)
class Ending:
    """A reminder's mute or snooze, as the store has it."""

    ref: EndingRef
    target: Target
    mute: TimedMute | None = None
    snooze: SnoozeToRemind | None = None

    def aim(self) -> Aim:
        return Aim(self.target, self.target.space, self.target.rule_id, self.target.alert_id)


def what(mute: TimedMute) -> str:
    """ "the mute of `web-01`" / "the mute of all alerts of rule `r1`"."""
    return (
        f"the mute of {code(mute.alert_id)}"
        if mute.alert_id
        else f"the mute of all alerts of rule {code(mute.rule_id)}"
    )


def snooze_what(snooze: SnoozeToRemind) -> str:
    return f"the snooze of rule {code(snooze.rule_id)}"


def at(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%H:%M %Z")


def reminder_blocks(text: str, ref: EndingRef, *, snooze: bool) -> list[Block]:
    value = ref.pack()
    extend, let_end, end_now = (
        (actions.SNOOZE_EXTEND, actions.SNOOZE_LET_END, actions.SNOOZE_END_NOW)
        if snooze
        else (actions.MUTE_EXTEND, actions.MUTE_LET_END, actions.MUTE_END_NOW)
    )
    return [
        section(text, block_id="ending_reminder"),
        actions_block(
            button("Extend 1 h", extend, value, style="primary"),
            button("Let it end", let_end, value),
            button("Cancel the snooze now" if snooze else "Unmute now", end_now, value),
            block_id="ending_actions",
        ),
    ]


def _unresolved(text: str | None) -> Ending:
    raise ForgedValue(EndingRef.FORGED)  # never used: the guard resolves a reminder's value from the store


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services = plumbing.services

    async def resolve(interaction: Interaction) -> Ending:
        ref = EndingRef.unpack(interaction.value)
        snoozes = interaction.action_id in (actions.SNOOZE_EXTEND, actions.SNOOZE_LET_END, actions.SNOOZE_END_NOW)
        if (ref.kind == "s") != snoozes:
            raise ForgedValue(EndingRef.FORGED)
        if ref.kind == "m":
            mute = await services.store.timed_mute(ref.row)
            if mute is None:
                raise ForgedValue(NO_LONGER)
            if mute.channel != interaction.channel:  # told elsewhere: not this message's to act on
                raise ForgedValue(EndingRef.FORGED)
            target = Target(rule_id=mute.rule_id, space=mute.space, alert_id=mute.alert_id)
            return Ending(ref, target, mute=mute)
        snooze = await services.store.snooze_row(ref.row)
        if snooze is None:
            raise ForgedValue(NO_LONGER)
        if snooze.channel != interaction.channel:
            raise ForgedValue(EndingRef.FORGED)
        return Ending(ref, Target(rule_id=snooze.rule_id, space=snooze.space), snooze=snooze)

    async def tell(interaction: Interaction, sentence: str) -> None:
        origin = Origin.of(interaction)
        thread = origin.thread_ts or origin.message_ts
        if origin.channel:
            await plumbing.replies.post(origin.channel, f"{interaction.actor.mention} {sentence}.", thread_ts=thread)

    async def extend(ending: Ending, interaction: Interaction) -> None:
        zone = services.settings.zone
        before = services.settings.mute_reminder_before
        if ending.mute is not None:
            mute = ending.mute
            new_end = max(mute.ends_at or datetime.now(UTC), datetime.now(UTC)) + EXTENSION

            async def run() -> str:
                if mute.how == HOW_KIBANA and mute.alert_id is not None:
                    await services.kibana.snooze_alert(
                        mute.rule_id, mute.alert_id, expires_at=new_end, space=mute.space
                    )
                if not await services.store.extend_timed_mute(mute.id, ends_at=new_end, remind_before=before):
                    raise NothingToDo(NO_LONGER)
                return f"extended {what(mute)} by 1 hour, until {at(new_end, zone)}"

            sentence = await audited(services, interaction.actor, actions.MUTE.name, ending.target, run(), detail=str)
        else:
            snooze = ending.snooze
            assert snooze is not None

            async def run() -> str:
                schedule = await services.kibana.snooze_rule(
                    snooze.rule_id, "1h", start=snooze.ends_at, space=snooze.space
                )
                await services.store.remember_snooze(
                    space=snooze.space,
                    rule_id=snooze.rule_id,
                    schedule_id=schedule.id,
                    ends_at=snooze.ends_at + EXTENSION,
                    created_by=interaction.actor.user_id,
                    channel=snooze.channel,
                    thread_ts=snooze.thread_ts,
                    remind_before=before,
                )
                return (
                    f"extended {snooze_what(snooze)} by 1 hour, until {at(snooze.ends_at + EXTENSION, zone)} "
                    f"(schedule {code(schedule.id)})"
                )

            sentence = await audited(services, interaction.actor, actions.SNOOZE.name, ending.target, run(), detail=str)
        await tell(interaction, sentence)

    async def let_end(ending: Ending, interaction: Interaction) -> None:
        zone = services.settings.zone
        if ending.mute is not None:
            sentence = f"lets {what(ending.mute)} end at {at(ending.mute.ends_at, zone)}"
            name = actions.MUTE.name
        else:
            assert ending.snooze is not None
            sentence = f"lets {snooze_what(ending.snooze)} end at {at(ending.snooze.ends_at, zone)}"
            name = actions.SNOOZE.name
        await record(services, interaction.actor, name, ending.target, result="ok", detail=sentence)
        await tell(interaction, sentence)

    async def end_now(ending: Ending, interaction: Interaction) -> None:
        if ending.mute is not None:
            write = writes.UNMUTE if ending.mute.alert_id else writes.UNMUTE_ALL
            sentence = await writes.apply(services, interaction.actor, write, ending.target)
            done = writes.Written(write, ending.target)
        else:
            assert ending.snooze is not None
            sentence = await writes.apply(
                services, interaction.actor, writes.UNSNOOZE, ending.target, schedule_id=ending.snooze.schedule_id
            )
            done = None
        await tell(interaction, sentence)
        thread = ending.mute.thread_ts if ending.mute else ending.snooze.thread_ts if ending.snooze else None
        if done is not None and thread and interaction.channel:  # the alert message shows Mute again
            await plumbing.outcomes.redraw(interaction.channel, thread, done)

    def guarded(run: Callable[[Ending, Interaction], Awaitable[None]]) -> Listener:
        # `decode` stands for the guard's first reading; `resolve` (the store's row) is what acts
        return plumbing.guard.click(Click(decode=packed(_unresolved), aim=Ending.aim, run=run, resolve=resolve))

    return {
        actions.MUTE_EXTEND: guarded(extend),
        actions.MUTE_LET_END: guarded(let_end),
        actions.MUTE_END_NOW: guarded(end_now),
        actions.SNOOZE_EXTEND: guarded(extend),
        actions.SNOOZE_LET_END: guarded(let_end),
        actions.SNOOZE_END_NOW: guarded(end_now),
    }
