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

    parts = [listeners.register(plumbing), attach.register(plumbing), add_message.register(plumbing)]
    return Contribution(
        commands={**{k: v for p in parts for k, v in p.commands.items()}, **dict.fromkeys(FROM_SLACK, where_to_find)},
        actions={k: v for p in parts for k, v in p.actions.items()},
        views={k: v for p in parts for k, v in p.views.items()},
        shortcuts={k: v for p in parts for k, v in p.shortcuts.items()},
        options={CASE_PICK: options_listener(plumbing.services, PICKING)},
        closers=tuple(c for p in parts for c in p.closers),
        steps={k: v for p in parts for k, v in p.steps.items()},  # *Open a Kibana case* (handlers/cases/step.py)
    )
