"""Alert messages: the Kibana webhook posts them, buttons act on them, recoveries update them.

- `handlers.alerts.webhook`: `POST /kibana/alerts` (auth, body limit, validation, fast answer);
- `handlers.alerts.delivery`: one delivery → one message, updated in place, exactly once;
- `handlers.alerts.message`: the Block Kit, and the renderer that re-draws a message after a
  button (answered by the alerting feature) acted on it.
"""

from __future__ import annotations

from handlers.alerts import delivery, message, webhook
from handlers.shared.feature import Contribution, Plumbing

WEBHOOK_PATH = "/kibana/alerts"


def register(plumbing: Plumbing) -> Contribution:
    """The webhook route (only when ALERT_WEBHOOK_TOKEN is set) and the alert-message renderer."""
    services = plumbing.services
    routes = {}
    if services.settings.alert_webhook_token is not None:
        routes[WEBHOOK_PATH] = webhook.make_endpoint(services, delivery.process)
    return Contribution(routes=routes, renderers=[message.renderer(services)])
