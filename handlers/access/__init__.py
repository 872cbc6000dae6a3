"""Access: `whoami`, `can-i`, the `audit` trail and its retention; `connect` / `disconnect` your own Kibana key."""

from __future__ import annotations

from handlers.access import audit_view, commands, connect
from handlers.access.actions import ACTIONS, AUDIT, CAN_I, WHOAMI
from handlers.access.retention import AuditRetention
from handlers.shared.catalog import CONNECT, DISCONNECT
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    retention = AuditRetention(plumbing.services)
    buttons, forms = connect.listeners(plumbing)
    return Contribution(
        commands={
            WHOAMI.name: commands.whoami(plumbing.catalog),
            CAN_I.name: commands.can_i(plumbing.catalog),
            AUDIT.name: audit_view.show_audit,
            CONNECT.name: connect.route(plumbing),
            DISCONNECT.name: connect.disconnect_route,
        },
        actions=buttons,
        views=forms,
        background=[retention.start],
        closers=[retention.close],
        parts=[retention],
    )
