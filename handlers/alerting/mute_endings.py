"""Ends and reminders, on time, once across replicas, whatever restarts in between.

Every replica looks at the store every `CHECK_SECONDS`: a mute whose end has come is claimed by one
replica's conditional update, which unmutes it in Kibana (the bot's own credential: it carries out
what the person set) and tells the thread "The mute of `web-01` ended; the alert is unmuted." (a
mute that Kibana's alert snooze ended is only told). A reminder that is due is claimed the same way
and posted in the thread, mentioning whoever muted or snoozed, with its buttons (`reminders.py`).
Nothing lives only in memory: a replica started after a restart finds what is due in the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from bot import aio
from bot.failure_log import FailureLog
from bot.kibana.errors import KibanaError, KibanaNotFound
from bot.store.timed_mutes import HOW_BOT, SnoozeToRemind, TimedMute
from handlers.alerting import writes
from handlers.alerting.reminders import EndingRef, at, reminder_blocks, snooze_what, what
from handlers.alerting.target import Target
from handlers.shared.audit import record
from handlers.shared.blocks import code
from handlers.shared.context import Actor
from handlers.shared.feature import Plumbing

log = logging.getLogger(__name__)
_failures = FailureLog(log)

CHECK_SECONDS = 15.0


def _minutes(delta_seconds: float) -> str:
    minutes = max(1, round(delta_seconds / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} h"
    return f"{minutes} min"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class MuteEndings:
    """The loop that ends timed mutes and sends reminders; `tick` is one look (tests call it too)."""

    def __init__(self, plumbing: Plumbing) -> None:
        self.plumbing = plumbing
        self.services = plumbing.services
        self.owner = self.services.replica  # who claimed an end (the store's column), for the logs
        self.check_seconds = CHECK_SECONDS
        self.paused = False  # tests that drive `tick` themselves pause the loop
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mute-endings")

    async def close(self) -> None:
        task, self._task = self._task, None
        await aio.cancel(task)

    async def _run(self) -> None:
        while True:
            try:
                if not self.paused:
                    await self.tick()
                _failures.recovered("tick", "timed mutes: the store answers again")
            except Exception as error:
                _failures.failed("tick", "could not look for timed mutes that end; trying again", error=error)
            await asyncio.sleep(self.check_seconds)

    async def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        store = self.services.store
        for mute in await store.due_mute_reminders(now):
            if await store.claim_mute_reminder(mute.id, now=now):
                await self._apart(f"reminder {mute.id}", self._remind_mute(mute, now))
        for snooze in await store.due_snooze_reminders(now):
            if await store.claim_snooze_reminder(snooze.id, now=now):
                await self._apart(f"snooze reminder {snooze.id}", self._remind_snooze(snooze, now))
        for mute in await store.due_mute_ends(now):
            if await store.claim_mute_end(mute.id, owner=self.owner, now=now):
                await self._apart(f"end {mute.id}", self._end(mute))

    @staticmethod
    async def _apart(what: str, work: Awaitable[None]) -> None:
        """One end or reminder failing (Slack refusing the channel, say) does not hold back the others;
        a claimed reminder that could not be posted is not sent again (said in the log)."""
        try:
            await work
        except Exception as error:
            _failures.failed(what, "timed mutes: could not finish %s", what, error=error)

    async def _end(self, mute: TimedMute) -> None:
        services, store = self.services, self.services.store
        target = Target(rule_id=mute.rule_id, space=mute.space, alert_id=mute.alert_id)
        if mute.how == HOW_BOT:
            try:
                if mute.alert_id is not None:
                    await services.kibana.unmute_alert(mute.rule_id, mute.alert_id, space=mute.space)
                else:
                    await services.kibana.unmute_all(mute.rule_id, space=mute.space)
            except KibanaNotFound:
                # the rule is gone (deleted, or its space): nothing is left to unmute, and trying again won't help
                await store.finish_mute_end(mute.id)
                await self._tell(
                    mute,
                    f":bell: {_capital(what(mute))} ended, but Kibana no longer has rule "
                    f"{code(mute.rule_id)} (space {code(mute.space)}), so there was nothing to unmute.",
                )
                return
            except KibanaError as error:
                await store.release_mute_end(mute.id)  # tried again on the next look
                _failures.failed(f"end {mute.id}", "could not unmute at the end of a timed mute: %s", error)
                return
            said = "the alert is unmuted" if mute.alert_id else "its alerts are unmuted"
        else:
            said = "Kibana's snooze of the alert is over"
        actor = Actor(mute.created_by, channel_id=mute.channel)
        write = writes.UNMUTE if mute.alert_id else writes.UNMUTE_ALL
        await record(services, actor, write.name, target, result="ok", detail="the end the person set, made by the bot")
        await store.finish_mute_end(mute.id)
        log.info("timed mute %s of rule %s ended", mute.id, mute.rule_id)
        text = f":bell: {_capital(what(mute))} ended; {said}."
        if mute.channel:
            await self.plumbing.replies.post(mute.channel, text, thread_ts=mute.thread_ts)
            if mute.thread_ts:
                try:
                    await self.plumbing.outcomes.redraw(
                        mute.channel, mute.thread_ts, writes.Written(write, target), line=text.removeprefix(":bell: ")
                    )
                except Exception as error:
                    _failures.failed("redraw", "could not show the end of a mute on its message", error=error)

    async def _tell(self, mute: TimedMute, text: str) -> None:
        if mute.channel:
            await self.plumbing.replies.post(mute.channel, text, thread_ts=mute.thread_ts)

    async def _remind_mute(self, mute: TimedMute, now: datetime) -> None:
        if not mute.channel or mute.ends_at is None:
            return
        zone = self.services.settings.zone
        left = _minutes((mute.ends_at - now).total_seconds())
        text = f"<@{mute.created_by}> {_capital(what(mute))} ends in {left} (at {at(mute.ends_at, zone)})."
        blocks = reminder_blocks(text, EndingRef(kind="m", row=mute.id), snooze=False)
        await self.plumbing.replies.post(mute.channel, text, blocks=blocks, thread_ts=mute.thread_ts)

    async def _remind_snooze(self, snooze: SnoozeToRemind, now: datetime) -> None:
        if not snooze.channel:
            return
        zone = self.services.settings.zone
        left = _minutes((snooze.ends_at - now).total_seconds())
        said = snooze_what(snooze)
        text = f"<@{snooze.created_by}> {_capital(said)} ends in {left} (at {at(snooze.ends_at, zone)})."
        blocks = reminder_blocks(text, EndingRef(kind="s", row=snooze.id), snooze=True)
        await self.plumbing.replies.post(snooze.channel, text, blocks=blocks, thread_ts=snooze.thread_ts)
