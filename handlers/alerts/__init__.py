"""Alert messages: the Kibana webhook posts them, or polling Kibana's alerts-as-data does for the
channels that subscribed; buttons act on them, recoveries update them.

- `handlers.alerts.webhook`: `POST /kibana/alerts` (auth, body limit, validation, fast answer); the
  only module that speaks HTTP, with `handlers.alerts.answers` (what Kibana is told, and why);
- `handlers.alerts.polling`: reads `.alerts-*` for the alert subscriptions (any licence);
- `handlers.alerts.subscriptions`: `alerts subscribe|unsubscribe|subscriptions` and the one in settings;
- `handlers.alerts.delivery`: a delivery is recorded in its rule's group, exactly once (both paths),
  and answered with where it stands in Slack (`handlers.alerts.results`);
- `handlers.alerts.publisher`: shows each group in Slack (one message per rule, space and
  channel), debounced and within Slack's limits, restart-safe and shared by replicas;
- `handlers.alerts.message`, `handlers.alerts.group_message`: the Block Kit, and the renderer
  that re-draws a message after a button (answered by the alerting feature) acted on it;
- `handlers.alerts.history`: closed episodes are pruned ALERT_HISTORY_DAYS after they close.
- `handlers.alerts.claim`, `claim_clicks`, `claim_kibana`, `claim_reminders`: *I'm on it* — who is on an
  episode (its buttons, `claim` / `release`), the Security acknowledge in Kibana, and ALERT_CLAIM_REMINDER.
"""

from __future__ import annotations

from handlers.alerts import polling, redraw, subscriptions, webhook
from handlers.alerts.actions import ACTIONS, SUBSCRIBE, SUBSCRIPTIONS, UNSUBSCRIBE
from handlers.alerts.claim_clicks import Claims
from handlers.alerts.claim_reminders import ClaimReminders
from handlers.alerts.delivery import Intake
from handlers.alerts.history import AlertHistoryRetention
from handlers.alerts.publisher import Publisher
from handlers.shared.feature import Contribution, Plumbing, Route

__all__ = ["ACTIONS", "WEBHOOK_PATH", "register"]

WEBHOOK_PATH = "/kibana/alerts"


def register(plumbing: Plumbing) -> Contribution:
    """The webhook route (only when ALERT_WEBHOOK_TOKEN is set), the publisher and the renderer, the
    subscription commands and the poller (started with the server when ELASTICSEARCH_URL is set)."""
    services = plumbing.services
    publisher = Publisher(services, plumbing.replies)
    intake = Intake(services, publisher)
    routes = {}
    if services.settings.alert_webhook_token is not None:
        routes[WEBHOOK_PATH] = webhook.make_endpoint(services, intake.deliver)
    poller = polling.AlertPoller(services, intake, plumbing.replies)
    history = AlertHistoryRetention(services)
    claims = Claims(plumbing)
    reminders = ClaimReminders(services, plumbing.replies)

    async def start() -> None:
        await subscriptions.apply_configured_subscription(services)
        await publisher.start()
        await poller.start()
        await history.start()
        await reminders.start()

    commands: dict[str, Route] = {
        SUBSCRIBE.name: subscriptions.subscribe,
        UNSUBSCRIBE.name: subscriptions.unsubscribe,
        SUBSCRIPTIONS.name: subscriptions.list_subscriptions,
        **claims.routes(),
    }
    return Contribution(
        commands=commands,
        actions=claims.listeners(),
        routes=routes,
        background=[start],
        closers=[reminders.close, poller.close, publisher.close, history.close],
        renderers=[redraw.renderer(services, publisher)],
        parts=[publisher, intake, poller, history, reminders],
    )
