"""The `add_to_case` message shortcut ("Add to Kibana case"): any message, added to a chosen open case
as a user comment — its text, who wrote it, its permalink and the names of its files.

The form's comment field holds at most 3,000 characters (Slack's `plain_text_input`): a longer
message is shown by its beginning, its whole text is kept under the form's view id (the store's
case_form_texts, as the new-case form does) and added to the case after the comment, in as many
comments as it needs (handlers.cases.whole_message). The form opens at once (the trigger id lives
3 s); its menu lists cases once the person's access is checked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.cases.actions import ADD, ADD_MODAL, ADD_TO_CASE_SHORTCUT, CASE_PICK
from handlers.cases.case_picker import Chosen, PickerOrigin, picker, read_choice
from handlers.cases.creation import link_for
from handlers.cases.explain import explain
from handlers.cases.form import COMMENT, FIELD_LIMIT, WHOLE_BLOCK, description_for, read_comment, shortened
from handlers.cases.linking import link_to_thread, note_own_comment
from handlers.cases.whole_message import add_whole_message, whole_message_note
from handlers.shared.audit import record
from handlers.shared.blocks import Block, clip, context, escape, modal, plain, section
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Contribution, Listener, Plumbing
from handlers.shared.guard import Aim, Click, NothingToDo, Submission, packed
from handlers.shared.interaction import Interaction, Message
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

TITLE = "Add to Kibana case"
FILES_NAMED = 20  # file names written into the comment


@dataclass(frozen=True)
class Adding:
    origin: PickerOrigin
    text: str  # the message's
    files: tuple[str, ...] = ()
    view_id: str | None = None
    view_hash: str | None = None


@dataclass(frozen=True)
class Entered:
    chosen: Chosen
    comment: str


def files_line(files: tuple[str, ...]) -> str:
    if not files:
        return ""
    more = len(files) - FILES_NAMED
    named = ", ".join(files[:FILES_NAMED]) + (f" and {more} more" if more > 0 else "")
    return f"Files: {named}"


def add_form(adding: Adding) -> tuple[Block, bool]:
    """The form, and whether its comment shows only the beginning of the message."""
    origin, extra = adding.origin, files_line(adding.files)
    whole = shortened(adding.text, origin, extra=extra)
    blocks: list[Block] = [
        section(
            "Add this message to an open Kibana case as a comment: its text, who wrote it, its link and the "
            "names of its files."
        )
    ]
    marked = origin.model_copy(update={"shortened": whole or None})
    if not origin.ready:  # input blocks need a submit button: the form shows them once it can be submitted
        blocks.append(context("Checking that you may add to cases…"))
        return modal(ADD_MODAL, TITLE, blocks, marked.pack(), submit=None), whole
    blocks.append(picker(hint=f"Open cases in space {origin.space}. Type to search their titles."))
    element: Block = {"type": "plain_text_input", "action_id": COMMENT, "multiline": True, "max_length": FIELD_LIMIT}
    comment = description_for(adding.text, origin, extra=extra)
    if comment:
        element["initial_value"] = comment
    blocks.append({"type": "input", "block_id": COMMENT, "label": plain("Comment", 2000), "element": element})
    if whole:
        blocks.append(context(whole_message_note(adding.text), block_id=WHOLE_BLOCK))
    return modal(ADD_MODAL, TITLE, blocks, marked.pack(), submit="Add comment"), whole


def register(plumbing: Plumbing) -> Contribution:
    """The shortcut and its form."""
    services, replies = plumbing.services, plumbing.replies

    def decode(interaction: Interaction) -> Adding:
        message = interaction.message or Message()
        return Adding(PickerOrigin.of_message(interaction, services.settings.kibana_space), message.text, message.files)

    def aim(adding: Adding) -> Aim:
        origin = adding.origin
        return Aim(f"{origin.channel}:{origin.message_ts}", origin.space, detail="open the form")

    async def open_form(adding: Adding, interaction: Interaction) -> Adding:
        view, whole = add_form(adding)
        opened = (await services.slack.views_open(trigger_id=interaction.trigger_id or "", view=view))["view"]
        adding = replace(adding, view_id=str(opened["id"]), view_hash=str(opened["hash"]))
        if whole:
            await services.store.keep_case_form_text(str(opened["id"]), adding.text)
        return adding

    async def fill(adding: Adding, interaction: Interaction) -> None:
        """Access granted: the message's permalink, and the menu."""
        update = {"ready": True, "permalink": await _permalink(services, adding.origin)}
        ready = replace(adding, origin=adding.origin.model_copy(update=update))
        view, whole = add_form(ready)
        if whole and adding.view_id:  # the link takes room too: the field may show less than at first
            await services.store.keep_case_form_text(adding.view_id, adding.text)
        await _update(services, adding, view)

    async def tell_adding(adding: Adding, interaction: Interaction, text: str) -> None:
        shown = modal(ADD_MODAL, TITLE, [section(text)], "", submit=None)
        if adding.view_id and await _update(services, adding, shown):
            return
        await replies.privately(adding.origin.surface(interaction.actor.user_id), text)

    on_shortcut = Click(decode=decode, aim=aim, run=fill, tell=tell_adding, open_form=open_form)

    def read(origin: PickerOrigin, view: dict[str, Any]) -> Entered | dict[str, str]:
        if not origin.ready:
            return {CASE_PICK: "The form was still being prepared; close it and run the shortcut again."}
        chosen = read_choice(view, allow_new=False)
        if isinstance(chosen, dict):
            return chosen
        comment = read_comment(view)
        if isinstance(comment, dict):
            return comment
        return Entered(chosen, comment)

    async def tell(origin: PickerOrigin, interaction: Interaction, text: str) -> None:
        await replies.privately(origin.surface(interaction.actor.user_id), text)

    async def run(origin: PickerOrigin, entered: Entered, interaction: Interaction) -> None:
        await _add(services, replies, interaction.actor, origin, entered, view_id=interaction.view_id or "")

    submission = Submission(
        decode=packed(PickerOrigin.unpack),
        read=read,
        aim=lambda origin, entered: Aim(
            entered.chosen.case_id or "", origin.space, channel=origin.channel, detail="add a message"
        ),
        run=run,
        tell=tell,
        error_block=CASE_PICK,
    )
    views: dict[str, Listener] = {ADD_MODAL: plumbing.guard.submission(submission)}
    return Contribution(views=views, shortcuts={ADD_TO_CASE_SHORTCUT: plumbing.guard.click(on_shortcut)})


async def _permalink(services: Services, origin: PickerOrigin) -> str | None:
    if not (origin.channel and origin.message_ts):
        return None
    try:
        answer = await services.slack.chat_getPermalink(channel=origin.channel, message_ts=origin.message_ts)
    except SlackApiError as error:
        log.info("no permalink for %s/%s: %s", origin.channel, origin.message_ts, error.response.get("error"))
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


async def _update(services: Services, adding: Adding, view: Block) -> bool:
    try:
        await services.slack.views_update(view_id=adding.view_id or "", hash=adding.view_hash, view=view)
    except SlackApiError as error:
        log.info("could not update the add-to-case form %s: %s", adding.view_id, error.response.get("error"))
        return False
    return True


def _doing(services: Services, origin: PickerOrigin) -> Doing:
    return Doing(action=ADD.name, space=origin.space, command=services.settings.slack_command, explain=explain)


async def _add(
    services: Services, replies: Replies, actor: Actor, origin: PickerOrigin, entered: Entered, *, view_id: str
) -> None:
    assert entered.chosen.case_id is not None
    key = f"add:{view_id}"
    claim = await services.store.claim_case(key, space=origin.space, channel=None, message_ts=None)
    if not claim.first:
        return  # the same form submitted twice: the first submission adds the comment
    surface = origin.surface(actor.user_id)
    try:
        case = await services.kibana.get_case(entered.chosen.case_id, space=origin.space)
        if case.status == "closed":
            raise NothingToDo(f"Kibana case “{escape(clip(case.title, 80))}” was closed meanwhile; choose an open one.")
        comment = f"{entered.comment}\n\nAdded from Slack by @{actor.user_name or actor.user_id} (<@{actor.user_id}>)"
        case = await services.kibana.add_case_comment(case.id, comment, owner=case.owner, space=origin.space)
    except Exception as error:
        await services.store.release_case_claim(key)
        status = error.status_code if isinstance(error, KibanaError) else None
        await record(
            services, actor, ADD.name, entered.chosen.case_id, result="error", space=origin.space,
            kibana_status=status, detail=str(error),
        )  # fmt: skip
        sentence = str(error) if isinstance(error, NothingToDo) else describe(error, _doing(services, origin))
        await replies.privately(surface, sentence)
        return
    await note_own_comment(services, case, comment)  # not told back to the case's thread
    if origin.shortened:
        await add_whole_message(
            services, replies, actor, origin, case.id, case.owner, view_id=view_id, doing=_doing(services, origin)
        )
    url = link_for(services, case, origin.space)
    await services.store.set_case_id(key, case.id, case_url=url)
    await record(services, actor, ADD.name, case.id, result="ok", space=origin.space, detail="message")
    link = f"<{url}|{escape(clip(case.title, 80))}>"
    await replies.publicly(surface, f"{actor.mention} added this message to Kibana case {link}.")
    await link_to_thread(services, replies, actor, origin, case.id, case.owner, case.title)
