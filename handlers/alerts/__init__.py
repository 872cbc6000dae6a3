"""Alert messages: the Kibana webhook posts them, or polling Kibana's alerts-as-data does for the
channels that subscribed; buttons act on them, recoveries update them.

- `handlers.alerts.webhook`: `POST /kibana/alerts` (auth, body limit, validation, fast answer);
- `handlers.alerts.polling`: reads `.alerts-*` for the alert subscriptions (any licence);
- `handlers.alerts.subscriptions`: `alerts subscribe|unsubscribe|subscriptions` and the one in settings;
- `handlers.alerts.delivery`: one delivery → one message, updated in place, exactly once (both paths);
- `handlers.alerts.message`: the Block Kit, and the renderer that re-draws a message after a
  button (answered by the alerting feature) acted on it.
"""

from __future__ import annotations

from handlers.alerts import delivery, message, polling, subscriptions, webhook
from handlers.shared.feature import Contribution, Plumbing, Route

WEBHOOK_PATH = "/kibana/alerts"


def register(plumbing: Plumbing) -> Contribution:
    """The webhook route (only when ALERT_WEBHOOK_TOKEN is set), the alert-message renderer, the
    subscription commands and the poller (started with the server when ELASTICSEARCH_URL is set)."""
    services = plumbing.services
    routes = {}
    if services.settings.alert_webhook_token is not None:
        routes[WEBHOOK_PATH] = webhook.make_endpoint(services, delivery.process)
    poller = polling.AlertPoller(services, delivery.process)

    async def start() -> None:
        await subscriptions.apply_configured_subscription(services)
        await poller.start()

    commands: dict[str, Route] = {
        "alerts subscribe": subscriptions.subscribe,
        "alerts unsubscribe": subscriptions.unsubscribe,
        "alerts subscriptions": subscriptions.list_subscriptions,
    }
    return Contribution(
        commands=commands,
        routes=routes,
        background=[start],
        closers=[poller.close],
        renderers=[message.renderer(services)],
        parts=[poller],
    )
