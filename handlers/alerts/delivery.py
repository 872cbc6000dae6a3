"""What one alert delivery does: it is recorded, then the publisher shows it in Slack.

- active, first time: the alert joins its rule's open group in the channel (opening one: the
  alert's own message is posted); more alerts of the rule turn that message into the group
  message, updated in place — a storm adds no messages;
- active again (Kibana runs the rule again, or retries): nothing new, unless the action group or
  the reason changed (the message shows the new one);
- recovered: the alert counts as recovered, the thread logs it, and once every alert of the
  group has recovered the message says so and the episode closes;
- the key is (space, rule, alert id, alert uuid), whichever way the alert came (webhook or
  alerts-as-data) and on whichever replica: an alert is counted once and shown once in a channel
  (each channel subscribed to it gets it: `Store.record_alert`).

The webhook's answer says where the alert stands in Slack: 200 shown (posted, grouped, updated,
recovered or duplicate), 202 stored and queued (Slack's rate limits, a slow Slack, a change that
waits for the message's next debounced update, or a storm — past MAX_WAITING deliveries waiting,
the next are answered at once: the publisher shows them when Slack allows, after a restart too),
502 Slack refused it (the error is named; the delivery is kept, and Kibana's retry, or the
publisher's own backoff, tries again).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services import Services
from bot.store.alert_groups import Delivered, Recorded
from handlers.alerts.publisher import Publisher
from handlers.alerts.webhook import AlertDelivery, Answer

WAIT_FOR_SLACK = 6.0  # seconds a webhook waits to answer where the alert is shown (then 202)
# Deliveries that may wait for Slack at once; past it (a storm) a recorded delivery is answered 202
# at once, so that Kibana's connections are not held while the publisher works through Slack's limits.
MAX_WAITING = 32
# A change to a message already posted is shown at the group's next update: waited for when that
# update is due within this many seconds, else answered 202 at once (the debounce, pacing).
WAIT_FOR_UPDATE = 1.0


def delivered(delivery: AlertDelivery) -> Delivered:
    date = delivery.date or datetime.now(UTC)
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return Delivered(
        space=delivery.space,
        rule_id=delivery.rule_id,
        alert_id=delivery.alert_id,
        alert_uuid=delivery.alert_uuid,
        rule_name=delivery.rule_name or delivery.rule_id,
        tags=tuple(delivery.tags),
        action_group=delivery.action_group,
        reason=delivery.text,
        date=date,
        recovered=delivery.recovered,
    )


def _status(recorded: Recorded) -> str:
    """What the webhook says once Slack shows the recorded change."""
    if recorded.outcome == "changed":
        return "updated"
    if recorded.recovered:
        return "recovery_posted" if recorded.first and recorded.outcome == "recovered_new" else "recovered"
    return "posted" if recorded.first else "grouped"


class Intake:
    """Records deliveries and has the publisher show them."""

    def __init__(self, services: Services, publisher: Publisher) -> None:
        self._services = services
        self._publisher = publisher
        self._waiting = 0

    async def record(self, delivery: AlertDelivery, channel: str, *, fan_out: bool = False) -> Recorded:
        """Record the delivery and have it shown, without waiting for Slack (the poller's way, with
        `fan_out`: the alert is shown in each subscribed channel; see `Store.record_alert`)."""
        debounce = timedelta(seconds=self._services.settings.alert_update_interval)
        recorded = await self._services.store.record_alert(
            delivered(delivery), channel=channel, debounce=debounce, fan_out=fan_out
        )
        if recorded.outcome != "duplicate":
            self._publisher.wake()
        return recorded

    async def process(self, services: Services, delivery: AlertDelivery, channel: str) -> Answer:
        """Record the delivery, then answer where it stands in Slack (the webhook's way)."""
        recorded = await self.record(delivery, channel)
        status = _status(recorded)
        if recorded.outcome == "duplicate":
            group = await services.store.alert_group(recorded.group_id)
            assert group is not None
            if group.shown_version >= recorded.version and group.ts is not None:
                return _answer(200, "duplicate", group.message_channel, group.ts)
            if not await services.store.retry_alert_group(recorded.group_id):
                status = "duplicate"  # being shown by another delivery: this one adds nothing
            self._publisher.wake()
        if self._waiting >= MAX_WAITING or await self._update_is_not_soon(recorded.group_id):
            return Answer(202, {"status": "queued"}, "queued")
        self._waiting += 1
        try:
            result = await self._publisher.shown(recorded.group_id, recorded.version, within=WAIT_FOR_SLACK)
        finally:
            self._waiting -= 1
        group = result.group
        if result.state == "shown":
            return _answer(200, status, group.message_channel, group.ts)
        if result.state == "failed":
            reason = group.failure or "error"
            body = {
                "error": f"Slack refused to show the alert message: {reason}; the delivery is kept and retried",
                "slack_error": reason,
                "channel": group.channel,
            }
            return Answer(502, body, "slack_error")
        return Answer(202, {"status": "queued"}, "queued")

    async def _update_is_not_soon(self, group_id: int) -> bool:
        group = await self._services.store.alert_group(group_id)
        if group is None or group.ts is None:
            return False  # a new message is posted at once: worth waiting for (a 502 says what Slack refused)
        return group.due_at - datetime.now(UTC) > timedelta(seconds=WAIT_FOR_UPDATE)


def _answer(code: int, status: str, channel: str | None, ts: str | None) -> Answer:
    return Answer(code, {"status": status, "channel": channel, "ts": ts}, status)
