"""Reminders for unclaimed alerts: a firing episode nobody said *I'm on it* to within ALERT_CLAIM_REMINDER
gets one reply in its thread mentioning ALERT_ONCALL.

Every replica sweeps the store (so a restart loses nothing: what is due is read again); a reminder is
taken by one replica through an exactly-once key per episode before it is posted, so replicas never
both post it. A post Slack refused gives the key back, and the next sweep tries again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot import aio
from bot.services import Services
from bot.store.alert_claims import REMINDER_KEYS
from handlers.shared.blocks import code
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

LONGEST_SWEEP = 30.0  # seconds between sweeps, at most
SHORTEST_SWEEP = 1.0


def oncall_mention(oncall: str) -> str:
    """ALERT_ONCALL as Slack renders a mention: a user group `<!subteam^S…>`, a person `<@U…>`."""
    return f"<!subteam^{oncall}>" if oncall.startswith("S") else f"<@{oncall}>"


def _age(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 1:
        return f"{int(elapsed.total_seconds())} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class ClaimReminders:
    """Runs while the server runs, when ALERT_CLAIM_REMINDER is set."""

    def __init__(self, services: Services, replies: Replies) -> None:
        self.services = services
        self.replies = replies
        self._task: asyncio.Task[None] | None = None

    @property
    def after(self) -> timedelta | None:
        return self.services.settings.claim_reminder_after

    async def start(self) -> None:
        if self.after is not None and self.services.settings.alert_oncall:
            self._task = asyncio.create_task(self._run(), name="alert-claim-reminders")

    async def close(self) -> None:
        task, self._task = self._task, None
        await aio.cancel(task)

    async def _run(self) -> None:
        after = self.after
        assert after is not None
        pause = min(LONGEST_SWEEP, max(SHORTEST_SWEEP, after.total_seconds() / 4))
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("could not remind anyone of unclaimed alerts; trying again in %.0f s", pause)
            await asyncio.sleep(pause)

    async def sweep(self, now: datetime | None = None) -> int:
        """Remind of every episode now due; how many reminders this replica posted."""
        after, oncall = self.after, self.services.settings.alert_oncall
        if after is None or not oncall:
            return 0
        now = now or datetime.now(UTC)
        store = self.services.store
        posted = 0
        for group_id in await store.unclaimed_alert_groups(started_before=now - after):
            if not await store.claim_key(REMINDER_KEYS, str(group_id), owner="reminder"):
                continue  # another replica has it
            group = await store.alert_group(group_id)
            if group is None or group.ts is None or group.message_channel is None:
                continue
            text = (
                f"{oncall_mention(oncall)} nobody has said they are on rule {code(group.rule_id)}'s alerts yet "
                f"({_age(now - group.started_at)} since they started). Whoever takes it: press *I'm on it* "
                "on the message above."
            )
            try:
                await self.replies.post(group.message_channel, text, thread_ts=group.ts)
            except Exception:
                await store.release_key(REMINDER_KEYS, str(group_id))
                log.warning("could not post the claim reminder of rule %s; trying again", group.rule_id, exc_info=True)
                continue
            posted += 1
        return posted
