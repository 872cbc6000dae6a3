"""Alert messages: the Kibana webhook posts them, buttons act on them, recoveries update them.

- `handlers.alert_webhook`: `POST /kibana/alerts` (auth, body limit, validation, fast answer);
- `handlers.alert_delivery`: one delivery → one message, updated in place, exactly once;
- `handlers.alert_message`: the Block Kit, and the renderer that re-draws a message after a
  button (handled by `handlers.rule_actions`) acted on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers import alert_delivery, alert_message, alert_webhook

if TYPE_CHECKING:
    from bot.app import Runtime

WEBHOOK_PATH = "/kibana/alerts"


def register(app: AsyncApp, services: Services, runtime: Runtime) -> None:
    """The webhook route (only when ALERT_WEBHOOK_TOKEN is set) and the alert-message renderer."""
    del app  # the buttons are rule_actions' listeners
    alert_message.install_renderer()
    if services.settings.alert_webhook_token is not None:
        runtime.routes[WEBHOOK_PATH] = alert_webhook.make_endpoint(services, alert_delivery.process)
