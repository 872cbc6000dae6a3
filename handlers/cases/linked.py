"""Cases linked to threads (issue 28): the card's clicks, Kibana → thread, thread → case.

What the cases feature adds to its contribution for linked cases: the card's menus and buttons,
`case status` and `case sync` typed as commands (they say where the card is), the Events API
`message` listener of thread sync, and the job that brings Kibana's activity into the threads.
"""

from __future__ import annotations

from handlers.cases.actions import CASE_STATUS, CASE_SYNC
from handlers.cases.card_clicks import listeners
from handlers.cases.sync_from_kibana import CaseActivity
from handlers.cases.sync_thread import message_listener
from handlers.shared.context import Invocation
from handlers.shared.feature import Contribution, Plumbing

WHERE = (
    "is done on the case's card, in the Slack thread of a case opened or linked from Slack: open a case "
    "from a message (its *Open Kibana case* shortcut) or from an alert (*Open case*), or add to one "
    "(*Add to Kibana case*, *Add to case…*), and the card appears in that message's thread."
)


async def _status_command(inv: Invocation) -> None:
    await inv.reply(f"Changing a case's status or severity {WHERE}")


async def _sync_command(inv: Invocation) -> None:
    await inv.reply(f"Syncing a thread with its case (*Sync this thread*, *Stop syncing*) {WHERE}")


def register_linked(plumbing: Plumbing) -> Contribution:
    activity = CaseActivity(plumbing.services, plumbing.replies)
    return Contribution(
        commands={CASE_STATUS.name: _status_command, CASE_SYNC.name: _sync_command},
        actions=listeners(plumbing),
        events={"message": message_listener(plumbing.services)},
        background=(activity.start,),
        closers=(activity.close,),
        parts=(activity,),
    )
