"""Cases: open a Kibana case from any message, an alert's button, or the command; attach alerts to a
case, and add any message to one."""

from __future__ import annotations

from handlers.cases import add_message, attach, listeners
from handlers.cases.actions import ACTIONS, ADD, ADD_MODAL, ATTACH, ATTACH_MODAL, CASE_PICK, FROM_SLACK
from handlers.cases.case_picker import PickerOrigin, options_listener
from handlers.shared.catalog import Action
from handlers.shared.context import Invocation
from handlers.shared.feature import Contribution, Plumbing

__all__ = ["ACTIONS", "register"]

# the forms with the case menu: their actions and metadata
PICKING: dict[str, tuple[Action, type[PickerOrigin]]] = {
    ATTACH_MODAL: (ATTACH, attach.AttachOrigin),
    ADD_MODAL: (ADD, PickerOrigin),
}


def register(plumbing: Plumbing) -> Contribution:
    """The new-case form and its command; *Add to case…*; the `add_to_case` shortcut; the case menu."""

    async def where_to_find(inv: Invocation) -> None:
        await inv.replies.privately(inv.surface, FROM_SLACK[inv.command.action])

    own = Contribution(
        commands=dict.fromkeys(FROM_SLACK, where_to_find),
        options={CASE_PICK: options_listener(plumbing.services, PICKING)},
    )
    return Contribution.combined(
        listeners.register(plumbing), attach.register(plumbing), add_message.register(plumbing), own
    )
