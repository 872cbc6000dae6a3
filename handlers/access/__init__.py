"""Access: `whoami`, `can-i`, the `audit` trail and its retention."""

from __future__ import annotations

from handlers.access import audit_view, commands
from handlers.access.actions import ACTIONS, AUDIT, CAN_I, WHOAMI
from handlers.access.retention import AuditRetention
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]


def register(plumbing: Plumbing) -> Contribution:
    retention = AuditRetention(plumbing.services)
    return Contribution(
        commands={
            WHOAMI.name: commands.whoami(plumbing.catalog),
            CAN_I.name: commands.can_i(plumbing.catalog),
            AUDIT.name: audit_view.show_audit,
        },
        background=[retention.start],
        closers=[retention.close],
        parts=[retention],
    )
