"""What one webhook delivery does in Slack, exactly once per alert.

- active, first time: claim (space, rule, alert id, alert uuid) in the store, post the
  message, remember where it is and what it shows;
- active again (Kibana runs the rule again, or retries): no new post; the message is
  updated in place when the action group or the reason changed;
- recovered: the original message is updated in place (marked recovered, the alert
  mute/unmute buttons removed) and one reply goes into its thread; a recovery of an
  alert the bot never posted gets a short "recovered" message of its own (claimed the
  same way, so a repeated delivery posts nothing more).

A Slack failure undoes the claim (or the recovered mark) and becomes a 502, so Kibana's
connector shows the failure and its retry can post.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypedDict

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from bot.services import Services
from handlers.alerts.message import AlertView, alert_blocks, alert_text, load, save
from handlers.alerts.webhook import AlertDelivery, Answer
from handlers.shared.blocks import code

log = logging.getLogger(__name__)

SlackFailure = (SlackApiError, ClientError, TimeoutError)


class AlertKey(TypedDict):
    space: str
    rule_id: str
    alert_id: str
    alert_uuid: str


def _key(delivery: AlertDelivery) -> AlertKey:
    return {
        "space": delivery.space,
        "rule_id": delivery.rule_id,
        "alert_id": delivery.alert_id,
        "alert_uuid": delivery.alert_uuid,
    }


def _view(services: Services, delivery: AlertDelivery, *, recovered: bool) -> AlertView:
    kibana = services.kibana
    # Never the body's rule_url: the link is built from KIBANA_PUBLIC_URL and the ids.
    url = kibana.rule_url(delivery.rule_id, space=delivery.space, public_base=services.settings.kibana_link_base)
    date = delivery.date or datetime.now(UTC)
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return AlertView(
        rule_id=delivery.rule_id,
        rule_name=delivery.rule_name or delivery.rule_id,
        space=delivery.space,
        alert_id=delivery.alert_id,
        alert_uuid=delivery.alert_uuid,
        action_group=delivery.action_group,
        reason=delivery.text,
        rule_url=url,
        tags=delivery.tags,
        summary=delivery.summary,
        date=date,
        recovered_at=date if recovered else None,
        recovery_reason=delivery.text if recovered else "",
    )


def _slack_failed(error: Exception, delivery: AlertDelivery, channel: str, doing: str) -> Answer:
    reason = error.response.get("error", "error") if isinstance(error, SlackApiError) else type(error).__name__
    log.error(
        "alert webhook: Slack refused to %s alert %s of rule %s (space %s) in %s: %s",
        doing,
        delivery.alert_id,
        delivery.rule_id,
        delivery.space,
        channel,
        reason,
    )
    body = {"error": f"Slack refused to {doing} the alert message: {reason}", "slack_error": reason, "channel": channel}
    return Answer(502, body, "slack_error")


async def process(services: Services, delivery: AlertDelivery, channel: str) -> Answer:
    if delivery.recovered:
        return await _recover(services, delivery, channel)
    store = services.store
    if await store.claim_alert_message(**_key(delivery), channel=channel):
        return await _post(services, delivery, channel, recovered=False)
    existing = await store.get_alert_message(**_key(delivery))
    if existing is None or existing.ts is None:
        return Answer(200, {"status": "duplicate", "detail": "the alert's message is being posted"}, "duplicate")
    if existing.recovered_at is not None:
        return Answer(200, {"status": "duplicate", "detail": "the alert has recovered"}, "duplicate")
    loaded = await load(services, existing.channel, existing.ts)
    if loaded is None:
        return Answer(200, {"status": "duplicate", "channel": existing.channel, "ts": existing.ts}, "duplicate")
    view, lines = loaded
    if (view.action_group, view.reason) == (delivery.action_group, delivery.text):
        return Answer(200, {"status": "duplicate", "channel": existing.channel, "ts": existing.ts}, "duplicate")
    view = view.model_copy(
        update={
            "action_group": delivery.action_group,
            "reason": delivery.text,
            "updated": delivery.date or datetime.now(UTC),
        }
    )
    try:
        await services.slack.chat_update(
            channel=existing.channel,
            ts=existing.ts,
            blocks=alert_blocks(view, lines, snooze_api=services.profile.current.snooze),
            text=alert_text(view),
        )
    except SlackFailure as error:
        return _slack_failed(error, delivery, existing.channel, "update")
    await save(services, existing.channel, existing.ts, view)
    return Answer(200, {"status": "updated", "channel": existing.channel, "ts": existing.ts}, "updated")


async def _post(services: Services, delivery: AlertDelivery, channel: str, *, recovered: bool) -> Answer:
    """Post the claimed alert's message; on failure release the claim so a retry can post."""
    store = services.store
    view = _view(services, delivery, recovered=recovered)
    try:
        answer: Any = await services.slack.chat_postMessage(
            channel=channel,
            blocks=alert_blocks(view, snooze_api=services.profile.current.snooze),
            text=alert_text(view),
            unfurl_links=False,
        )
    except SlackFailure as error:
        await store.release_alert_message(**_key(delivery))
        return _slack_failed(error, delivery, channel, "post")
    posted_in, ts = str(answer["channel"]), str(answer["ts"])
    await save(services, posted_in, ts, view)
    await store.set_alert_message_ts(**_key(delivery), channel=posted_in, ts=ts)
    if recovered:
        await store.mark_alert_recovered(**_key(delivery))
    status = "recovery_posted" if recovered else "posted"
    return Answer(200, {"status": status, "channel": posted_in, "ts": ts}, status)


async def _recover(services: Services, delivery: AlertDelivery, channel: str) -> Answer:
    store = services.store
    existing = await store.get_alert_message(**_key(delivery))
    if existing is None:
        if not await store.claim_alert_message(**_key(delivery), channel=channel):
            return Answer(200, {"status": "duplicate", "detail": "the recovery is being posted"}, "duplicate")
        return await _post(services, delivery, channel, recovered=True)
    if existing.ts is None:
        body = {"error": "the alert's message is still being posted; retry shortly"}
        return Answer(503, body, "in_flight")
    if not await store.mark_alert_recovered(**_key(delivery)):
        return Answer(200, {"status": "duplicate", "channel": existing.channel, "ts": existing.ts}, "duplicate")
    loaded = await load(services, existing.channel, existing.ts)
    fresh = _view(services, delivery, recovered=True)
    lines: tuple[str, ...] = ()
    if loaded is None:
        view = fresh
    else:
        view, lines = loaded
        view = view.model_copy(update={"recovered_at": fresh.recovered_at, "recovery_reason": delivery.text})
    assert view.recovered_at is not None
    reply = f":white_check_mark: Alert {code(delivery.alert_id)} of rule {code(delivery.rule_id)} recovered at " + (
        view.recovered_at.astimezone(UTC).strftime("%H:%M UTC") + "."
    )
    try:
        await services.slack.chat_update(
            channel=existing.channel,
            ts=existing.ts,
            blocks=alert_blocks(view, lines, snooze_api=services.profile.current.snooze),
            text=alert_text(view),
        )
        await services.slack.chat_postMessage(channel=existing.channel, thread_ts=existing.ts, text=reply)
    except SlackFailure as error:
        await store.clear_alert_recovered(**_key(delivery))
        return _slack_failed(error, delivery, existing.channel, "show the recovery of")
    await save(services, existing.channel, existing.ts, view)
    return Answer(200, {"status": "recovered", "channel": existing.channel, "ts": existing.ts}, "recovered")
