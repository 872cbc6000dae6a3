"""A message longer than a form field (3,000 characters) in a case: the form shows its beginning and
says so, the message's whole text is kept under the form's view id (the store's case_form_texts),
and the submission adds it to the case as comments (Kibana takes 30,000 characters a comment)."""

from __future__ import annotations

import logging

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.cases.form import COMMENT_LIMIT, FIELD_LIMIT, CaseOrigin, message_text
from handlers.cases.linking import note_own_comment
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)


def whole_message_note(text: str) -> str:
    """Under a field that shows only the beginning of the message."""
    return (
        f"The message has {len(message_text(text)):,} characters and a form field takes {FIELD_LIMIT:,}: "
        "the field shows its beginning, and the whole message is added to the case as a comment."
    )


def whole_text_comments(text: str, origin: CaseOrigin) -> list[str]:
    """The whole message as case comments (Kibana takes 30,000 characters a comment; a message may have
    40,000): a first line saying what it is, then the text, in as many parts as it needs."""
    where = f" ({origin.permalink})" if origin.permalink else ""
    by = f" by <@{origin.author}>" if origin.author else ""
    whole = message_text(text)
    head = f"The whole Slack message{by}{where} ({len(whole):,} characters"
    room = COMMENT_LIMIT - len(head) - len(", part 99 of 99):\n\n")
    parts = [whole[i : i + room] for i in range(0, len(whole), room)] or [""]
    comments = []
    for number, part in enumerate(parts, 1):
        of = f", part {number} of {len(parts)}" if len(parts) > 1 else ""
        comments.append(f"{head}{of}):\n\n{part}")
    return comments


async def add_whole_message(
    services: Services,
    replies: Replies,
    actor: Actor,
    origin: CaseOrigin,
    case_id: str,
    owner: str,
    *,
    view_id: str,
    doing: Doing,
) -> None:
    """The whole text of a message the form showed only the beginning of, as the case's comment(s)."""
    surface = origin.surface(actor.user_id)
    text = await services.store.case_form_text(view_id)
    if text is None:
        await replies.privately(
            surface,
            "The whole message could not be added to the case: the form was open for more than a day. Run "
            "*Open Kibana case* on the message again to add it as a comment.",
        )
        return
    try:
        for comment in whole_text_comments(text, origin):
            case = await services.kibana.add_case_comment(case_id, comment, owner=owner, space=origin.space)
            await note_own_comment(services, case, comment)  # not told back to the case's thread
    except KibanaError as error:
        log.warning("case %s: could not add the whole message: %s", case_id, error)
        await replies.privately(surface, f"Adding the whole message to the case failed: {describe(error, doing)}")
        return
    await services.store.forget_case_form_text(view_id)
