"""What the webhook tells Kibana about a delivery: where it stands in Slack, as HTTP.

Kibana's Webhook connector retries a 5xx, and a 429 at Retry-After; any other 4xx fails the action for
good and its history shows `[status] statusText: message`, the `message` of the answer's JSON body. So
a 4xx only ever answers what retrying cannot change, and says what to do.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from handlers.alerts.results import DeliveryResult, InSlack, Queued, RefusedForGood, SlackRefused
from handlers.shared.channels import CHANNEL_ERRORS, invite


class Answer:
    """What the endpoint tells Kibana, and the metric outcome."""

    def __init__(self, status: int, body: dict[str, Any], outcome: str) -> None:
        self.status, self.body, self.outcome = status, body, outcome

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status)


QUEUED = Answer(202, {"status": "queued"}, "queued")


def answer_for(result: DeliveryResult) -> Answer:
    """Where the delivery stands in Slack, as HTTP: 200 shown, 202 queued, 502 Slack refused it (retried),
    422 Slack refuses the channel for good."""
    match result:
        case InSlack(how=how, channel=channel, ts=ts):
            return Answer(200, {"status": how, "channel": channel, "ts": ts}, how)
        case Queued():
            return QUEUED
        case SlackRefused(error=error, channel=channel):
            said = f"Slack refused to show the alert message: {error}; the delivery is kept and retried"
            body = {"error": said, "message": said, "slack_error": error, "channel": channel}
            return Answer(502, body, "slack_error")
        case RefusedForGood(error=error, channel=channel, shown_in=shown_in, ts=ts, bot=bot):
            sentence = refused_for_good(error, channel, shown_in, bot)
            refused: dict[str, Any] = {
                "error": sentence,
                "message": sentence,  # what Kibana's action history shows: "[422] Unprocessable Entity: …"
                "slack_error": error,
                "channel": channel,
                "shown_in": shown_in,
                "ts": ts,
            }
            return Answer(422, refused, "channel_refused")


def refused_for_good(error: str, channel: str, shown_in: str | None, bot: str | None) -> str:
    """What Kibana's action history says about a channel Slack refuses for good, and what to do."""
    known = CHANNEL_ERRORS.get(error)
    why = f"{known.what} ({error})" if known else error
    where = f"it is shown in {shown_in} (ALERT_CHANNEL) instead" if shown_in else "it is not shown in Slack"
    fix = 'name another channel ("channel" in this connector\'s body, or ALERT_CHANNEL)'
    if known is None or known.invite:
        fix = f"invite the bot to {channel} ({invite(bot)}), or {fix}"
    return f"Slack refuses to post alerts in {channel}: {why}. This alert is not retried: {where}. To fix it, {fix}."
