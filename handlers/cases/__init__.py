"""Cases: open a Kibana case from any message, an alert's button, or the command."""

from __future__ import annotations

from handlers.cases.actions import ACTIONS
from handlers.cases.listeners import register

__all__ = ["ACTIONS", "register"]
