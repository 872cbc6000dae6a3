"""Alert messages: the Kibana webhook posts them, buttons act on them, recoveries update them.

- `handlers.alerts.webhook`: `POST /kibana/alerts` (auth, body limit, validation, fast answer);
- `handlers.alerts.delivery`: a delivery is recorded in its rule's group, exactly once;
- `handlers.alerts.publisher`: shows each group in Slack (one message per rule, space and
  channel), debounced and within Slack's limits, restart-safe and shared by replicas;
- `handlers.alerts.message`, `handlers.alerts.group_message`: the Block Kit, and the renderer
  that re-draws a message after a button (answered by the alerting feature) acted on it.
"""

from __future__ import annotations

from handlers.alerts import redraw, webhook
from handlers.alerts.delivery import Intake
from handlers.alerts.publisher import Publisher
from handlers.shared.feature import Contribution, Plumbing

WEBHOOK_PATH = "/kibana/alerts"


def register(plumbing: Plumbing) -> Contribution:
    """The webhook route (only when ALERT_WEBHOOK_TOKEN is set), the publisher and the renderer."""
    services = plumbing.services
    publisher = Publisher(services)
    intake = Intake(services, publisher)
    routes = {}
    if services.settings.alert_webhook_token is not None:
        routes[WEBHOOK_PATH] = webhook.make_endpoint(services, intake.process)
    return Contribution(
        routes=routes,
        background=[publisher.start],
        closers=[publisher.close],
        renderers=[redraw.renderer(services, publisher)],
        parts=[publisher, intake],
    )
