"""Mutes that end: the Kibana calls behind `mute … for/until`, `mute-all … for/until`, the *Mute for…*
menu, and unmutes that cancel an end.

On a Kibana with the alert snooze API (9.5+), a timed alert mute is Kibana's snooze (`expires_at`,
and `conditions` for "until it gets worse"): Kibana ends it. Before that, and for `mute-all` on any
Kibana, the bot mutes now and records the end; `handlers/alerting/mute_endings.py` unmutes at the
end, once across replicas. Either way the store keeps a row, for the reminder before the end and for
the health report's list.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.store.errors import store_unreachable
from bot.store.timed_mutes import HOW_BOT, HOW_KIBANA
from handlers.alerting import mute_end
from handlers.shared.audit import record
from handlers.shared.blocks import code, escape
from handlers.shared.errors import Refused

if TYPE_CHECKING:
    from handlers.alerting.writes import Asked

log = logging.getLogger(__name__)


async def resolve_end(asked: Asked) -> Asked:
    """The end the spec in `duration` names, from now (refused, and audited, when it is not one or
    cannot be had on this Kibana)."""
    spec = asked.duration
    if not spec:
        return replace(asked, duration=None)
    services, target = asked.services, asked.target
    name = "mute" if target.alert_id else "mute-all"
    try:
        if not mute_end.is_spec(spec):
            raise ValueError(f"not a mute end: {spec}")
        end = mute_end.resolve(spec, datetime.now(UTC), services.settings.zone)
    except ValueError as error:
        await record(services, asked.actor, name, target, result="refused", detail=f"end {spec!r}: {error}")
        raise Refused(f"That end is not one the bot accepts: {escape(str(error))}.") from None
    if end.worse and (target.alert_id is None or not services.profile.current.alert_snooze):
        version = services.profile.current.info.version or "of unknown version"
        await record(
            services, asked.actor, name, target, result="refused", detail="until it gets worse: no alert snooze"
        )
        raise Refused(
            "Muting until the alert gets worse needs Kibana 9.5 or later (its alert snooze API); "
            f"this Kibana is {escape(version)}. Mute for a time instead (1 hour, 4 hours, until 09:00)."
        )
    return replace(asked, end=end)


async def mute(asked: Asked) -> None:
    services, target = asked.services, asked.target
    rule, alert, space = target.rule_id, asked.alert_id, target.space
    end = asked.end
    if end is None:
        await services.kibana.mute_alert(rule, alert, space=space)
        await _forget(asked, alert)  # now: until someone unmutes it
        return
    how = HOW_KIBANA if services.profile.current.alert_snooze else HOW_BOT
    if how == HOW_KIBANA:
        await services.kibana.snooze_alert(rule, alert, expires_at=end.until, until_worse=end.worse, space=space)
    else:
        await services.kibana.mute_alert(rule, alert, space=space)
    await _remember(asked, alert, how)


async def mute_all(asked: Asked) -> None:
    services, target = asked.services, asked.target
    await services.kibana.mute_all(target.rule_id, space=target.space)
    # Kibana's mute_all clears the rule's alert mutes: their ends go too.
    await _undo_kibana_snoozes(asked, await _forget(asked, None, whole_rule=True))
    if asked.end is not None:
        await _remember(asked, None, HOW_BOT)


async def unmute(asked: Asked) -> None:
    services, target = asked.services, asked.target
    await services.kibana.unmute_alert(target.rule_id, asked.alert_id, space=target.space)
    await _undo_kibana_snoozes(asked, await _forget(asked, asked.alert_id))


async def unmute_all(asked: Asked) -> None:
    services, target = asked.services, asked.target
    await services.kibana.unmute_all(target.rule_id, space=target.space)
    await _undo_kibana_snoozes(asked, await _forget(asked, None, whole_rule=True))


async def _remember(asked: Asked, alert_id: str | None, how: str) -> None:
    services, target, end = asked.services, asked.target, asked.end
    assert end is not None
    try:
        await _record(asked, alert_id, how)
    except Exception as error:
        if not store_unreachable(error):
            raise
        undo = "unmute-all" if alert_id is None else "unmute"
        command = f"{services.settings.slack_command} {undo} {target.rule_id}" + (f" {alert_id}" if alert_id else "")
        if how == HOW_KIBANA:
            raise Refused(
                f"Kibana snoozed alert {code(alert_id or '')}{end.words(services.settings.zone)}, but the bot's "
                "database is not answering, so there will be no reminder before it ends."
            ) from None
        raise Refused(
            f"Muted in Kibana, but the bot's database is not answering, so it could not record when the mute "
            f"ends and will not unmute it{end.words(services.settings.zone)}: unmute it yourself then "
            f"({code(command)})."
        ) from None


async def _record(asked: Asked, alert_id: str | None, how: str) -> None:
    services, target, end = asked.services, asked.target, asked.end
    assert end is not None
    await services.store.record_timed_mute(
        space=target.space,
        rule_id=target.rule_id,
        alert_id=alert_id,
        how=how,
        ends_at=end.until,
        remind_before=services.settings.mute_reminder_before,
        created_by=asked.actor.user_id,
        channel=asked.place.channel,
        thread_ts=asked.place.thread_ts,
    )


async def _forget(asked: Asked, alert_id: str | None, *, whole_rule: bool = False) -> list[str]:
    """A person unmuted: the bot will not end (nor remind of) the mutes it kept; the alerts whose
    end Kibana held (its snooze) are returned, to lift that too."""
    target = asked.target
    try:
        gone = await asked.services.store.forget_timed_mutes(
            space=target.space, rule_id=target.rule_id, alert_id=alert_id, whole_rule=whole_rule
        )
    except Exception as error:
        if not store_unreachable(error):
            raise
        # Kibana is unmuted; the end the bot kept (if any) stays, and unmuting again at it is harmless.
        log.warning(
            "unmuted rule %s, but could not forget its timed mutes: the database did not answer", target.rule_id
        )
        return []
    return [m.alert_id for m in gone if m.how == HOW_KIBANA and m.alert_id is not None]


async def _undo_kibana_snoozes(asked: Asked, alert_ids: list[str]) -> None:
    for alert_id in alert_ids:
        await asked.services.kibana.unsnooze_alert(asked.target.rule_id, alert_id, space=asked.target.space)
