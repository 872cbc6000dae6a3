"""What a webhook delivery comes to, in the alert's words: where it stands in Slack.

The intake (handlers.alerts.delivery) answers each delivery with one of these; only the webhook
(handlers.alerts.webhook) turns them into HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How Slack came to show the delivery: its alert's own message was posted, the alert joined its rule's
# group message, the message was updated (a new action group or reason), the recovery was shown (on a
# message of its own when Slack showed nothing of the alert before), or it was shown already.
How = Literal["posted", "grouped", "updated", "recovered", "recovery_posted", "duplicate"]


@dataclass(frozen=True, slots=True)
class InSlack:
    """Slack shows the delivery, in the message `ts` of `channel` (its id)."""

    how: How
    channel: str | None
    ts: str | None


@dataclass(frozen=True, slots=True)
class Queued:
    """Recorded, not shown yet: the publisher shows it when Slack allows (its rate limits, a slow Slack,
    a change waiting for the message's next debounced update, a storm), after a restart too."""


@dataclass(frozen=True, slots=True)
class SlackRefused:
    """Slack refused to show the alert in `channel` (`error`: Slack's error code, or what failed);
    the delivery is kept, and the publisher (or Kibana's retry) tries again."""

    error: str
    channel: str


@dataclass(frozen=True, slots=True)
class RefusedForGood:
    """Slack refuses `channel` for good (`error`, a second time in a row): the alert is shown in `shown_in`
    (ALERT_CHANNEL) instead, at `ts` once posted, or nowhere (`shown_in` None). Retrying changes nothing;
    someone must fix the channel. `bot`: the bot's name in Slack, for the invite hint (None: not known)."""

    error: str
    channel: str
    shown_in: str | None
    ts: str | None
    bot: str | None = None


DeliveryResult = InSlack | Queued | SlackRefused | RefusedForGood
