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

A webhook delivery is answered with where the alert stands in Slack (handlers.alerts.results):
in Slack (posted, grouped, updated, recovered, or shown already), queued (Slack's rate limits, a
slow Slack, a change that waits for the message's next debounced update, or a storm — past
MAX_WAITING deliveries waiting, the next are answered at once: the publisher shows them when Slack
allows, after a restart too), or refused by Slack (the error is named; the delivery is kept, and
Kibana's retry, or the publisher's own backoff, tries again). A channel Slack refuses a second time in
a row is refused for good (handlers.alerts.publisher): every delivery of that group is answered so at
once, naming where the alert is shown instead (ALERT_CHANNEL), or that it is not.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.services import Services
from bot.store.alert_groups import AlertGroup, Delivered, Recorded
from handlers.alerts.publisher import Publisher
from handlers.alerts.results import DeliveryResult, How, InSlack, Queued, RefusedForGood, SlackRefused
from handlers.alerts.webhook import AlertDelivery

WAIT_FOR_SLACK = 6.0  # seconds a webhook delivery waits for Slack to show it (then it is queued)
# Deliveries that may wait for Slack at once; past it (a storm) a recorded delivery is answered queued
# at once, so that Kibana's connections are not held while the publisher works through Slack's limits.
MAX_WAITING = 32
# A change to a message already posted is shown at the group's next update: waited for when that
# update is due within this many seconds, else answered queued at once (the debounce, pacing).
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
        facts=delivery.facts.dump() if delivery.facts is not None else None,
    )


def _how(recorded: Recorded) -> How:
    """How Slack shows the recorded change, once it does."""
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

    async def deliver(
        self, delivery: AlertDelivery, channel: str, stored: asyncio.Event | None = None
    ) -> DeliveryResult:
        """Record the delivery (then set `stored`), then say where it stands in Slack (the webhook's way).
        It is recorded by `Store.record_alert_together`: in its own transaction, or in a batch's when
        ALERTS_PER_TRANSACTION is above 1."""
        debounce = timedelta(seconds=self._services.settings.alert_update_interval)
        recorded = await self._services.store.record_alert_together(
            delivered(delivery), channel=channel, debounce=debounce
        )
        if recorded.outcome != "duplicate":
            self._publisher.wake()
        if stored is not None:
            stored.set()
        store = self._services.store
        group = recorded.group or await store.alert_group(recorded.group_id)  # as its record left it
        assert group is not None
        if group.refused is not None:  # retrying changes nothing: Kibana is told at once, wherever it is shown
            return self._refused(group)
        how = _how(recorded)
        retried = False
        if recorded.outcome == "duplicate":
            if group.shown_version >= recorded.version and group.ts is not None:
                return InSlack("duplicate", group.message_channel, group.ts)
            retried = await store.retry_alert_group(recorded.group_id)
            if not retried:
                how = "duplicate"  # being shown by another delivery: this one adds nothing
            self._publisher.wake()
        if self._waiting >= MAX_WAITING or (not retried and _update_is_not_soon(group)):
            return Queued()
        self._waiting += 1
        try:
            result = await self._publisher.shown(recorded.group_id, recorded.version, within=WAIT_FOR_SLACK)
        finally:
            self._waiting -= 1
        group = result.group
        if group.refused is not None:
            return self._refused(group)
        if result.state == "shown":
            return InSlack(how, group.message_channel, group.ts)
        if result.state == "failed":
            return SlackRefused(group.failure or "error", group.channel)
        return Queued()

    def _refused(self, group: AlertGroup) -> RefusedForGood:
        """Slack refuses the group's channel for good: where the alert is shown instead, if anywhere."""
        shown_in = None if group.closed_at is not None and group.ts is None else group.message_channel
        if shown_in is None and group.closed_at is None:
            shown_in = self._services.settings.alert_channel  # its message there is on its way
        assert group.refused is not None
        return RefusedForGood(group.refused, group.channel, shown_in, group.ts, self._services.bot_user.name)


def _update_is_not_soon(group: AlertGroup) -> bool:
    if group.ts is None:
        return False  # a new message is posted at once: worth waiting for (a refusal names Slack's error)
    return group.due_at - datetime.now(UTC) > timedelta(seconds=WAIT_FOR_UPDATE)
