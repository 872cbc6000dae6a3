"""Access: `whoami`, `can-i`, the `audit` trail and its retention."""

from __future__ import annotations

from handlers.access import audit_view, commands
from handlers.access.retention import AuditRetention
from handlers.shared.feature import Contribution, Plumbing


def register(plumbing: Plumbing) -> Contribution:
    retention = AuditRetention(plumbing.services)
    return Contribution(
        commands={"whoami": commands.whoami, "can-i": commands.can_i, "audit": audit_view.show_audit},
        background=[retention.start],
        closers=[retention.close],
        parts=[retention],
    )
