"""Access: `whoami`, `can-i` and the `audit` trail."""

from __future__ import annotations

from handlers.access import audit_view, commands
from handlers.shared.feature import Contribution, Plumbing


def register(plumbing: Plumbing) -> Contribution:
    del plumbing  # commands only; they find everything on the invocation
    return Contribution(commands={"whoami": commands.whoami, "can-i": commands.can_i, "audit": audit_view.show_audit})
