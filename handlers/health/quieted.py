"""What the bot knows is quieted, for the scheduled health reports: the timed mutes it will end (or that
Kibana's alert snooze ends) and the rule snoozes it made, in the report's space, with their ends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.failure_log import FailureLog
from bot.services import Services
from bot.store.errors import store_unreachable
from handlers.shared.blocks import Block, clip, code, section

log = logging.getLogger(__name__)
_failures = FailureLog(log)

SHOWN = 15  # lines; the rest are counted
TEXT_LIMIT = 2900


def _end(moment: datetime | None, zone: ZoneInfo) -> str:
    return "until it gets worse" if moment is None else "until " + moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


async def quieted_block(services: Services, space: str, now: datetime | None = None) -> Block | None:
    """One section listing the space's active mutes and snoozes the bot knows of; None when there are
    none, or when the database does not answer (the report goes out without it)."""
    now = now or datetime.now(UTC)
    zone = services.settings.zone
    try:
        mutes = [m for m in await services.store.active_timed_mutes(limit=200) if m.space == space]
        snoozes = [s for s in await services.store.active_snoozes(now, limit=200) if s.space == space]
    except Exception as error:
        if not store_unreachable(error):
            raise
        _failures.failed("quieted", "the health report lists no mutes: the database did not answer", error=error)
        return None
    lines = []
    for mute in mutes:
        what = (
            f"alert {code(mute.alert_id)} of rule {code(mute.rule_id)}"
            if mute.alert_id
            else (f"all alerts of rule {code(mute.rule_id)}")
        )
        lines.append(f"• Muted: {what}, {_end(mute.ends_at, zone)} (by <@{mute.created_by}>)")
    for snooze in snoozes:
        lines.append(
            f"• Snoozed: rule {code(snooze.rule_id)}, {_end(snooze.ends_at, zone)} (by <@{snooze.created_by}>)"
        )
    if not lines:
        return None
    more = len(lines) - SHOWN
    text = "*Quieted for now* (mutes and snoozes the bot knows of)\n" + "\n".join(lines[:SHOWN])
    if more > 0:
        text += f"\n… and {more} more"
    return section(clip(text, TEXT_LIMIT), block_id="health_quieted")
