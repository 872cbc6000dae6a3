"""Choosing a Kibana case in a modal: an `external_select` of the open cases, served by Bolt's
`options` listener from `GET /api/cases/_find` (by title and description, open, of CASE_OWNER, in the
form's space), or the title of a new case.

The form's sealed `private_metadata` says which space it searches, and whether the person's access
was checked (`ready`): until then (the form opens before the check, the trigger id lives 3 s) and for
metadata the bot did not seal, the menu offers nothing. Slack waits 3 s for options: Kibana gets
OPTIONS_WAIT of them, and a slow or failing Kibana leaves the menu empty (logged), never an error
option someone could choose.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.cases.actions import CASE_PICK, TITLE_LIMIT
from handlers.cases.form import CaseOrigin
from handlers.shared.blocks import Block, clip, option, plain
from handlers.shared.catalog import Action
from handlers.shared.context import Actor
from handlers.shared.identity import Unlinked, as_person, person_key

log = logging.getLogger(__name__)

NEW_TITLE = "case_new_title"  # block and action id of the new case's title
OPTIONS_WAIT = 2.0  # seconds Kibana gets to list cases (Slack waits 3 s for the options)
OPTIONS_LIMIT = 50  # cases offered at once (Slack shows at most 100)
CASE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a case id as Kibana makes them (saved-object ids)


class PickerOrigin(CaseOrigin):
    """A case-picking form's metadata: where it came from (as the new-case form's), and whether the
    person's access was checked so that the menu may list cases."""

    ready: bool | None = Field(None, alias="y")


def picker(*, hint: str) -> Block:
    """The menu of open cases (searched as the person types)."""
    return {
        "type": "input",
        "block_id": CASE_PICK,
        "optional": True,
        "label": plain("Case", 2000),
        "hint": plain(hint, 2000),
        "element": {
            "type": "external_select",
            "action_id": CASE_PICK,
            "placeholder": plain("Search open cases by title", 150),
            "min_query_length": 0,
        },
    }


def new_title(initial: str = "") -> Block:
    element: Block = {"type": "plain_text_input", "action_id": NEW_TITLE, "max_length": TITLE_LIMIT}
    if initial:
        element["initial_value"] = clip(initial, TITLE_LIMIT)
    return {
        "type": "input",
        "block_id": NEW_TITLE,
        "optional": True,
        "label": plain("…or open a new case titled", 2000),
        "hint": plain("Leave the menu empty to open a new case with this title.", 2000),
        "element": element,
    }


@dataclass(frozen=True)
class Chosen:
    """The case chosen in the menu, or the title of a new one."""

    case_id: str | None = None
    title: str | None = None


def read_choice(view: dict[str, Any], *, allow_new: bool) -> Chosen | dict[str, str]:
    """What was chosen, or {block_id: what is wrong}. A menu value that is no case id is an error here
    (the menu only offers ids Kibana gave)."""
    values = view.get("state", {}).get("values", {})
    picked = (values.get(CASE_PICK, {}).get(CASE_PICK) or {}).get("selected_option")
    case_id = picked.get("value") if isinstance(picked, dict) else None
    typed = (values.get(NEW_TITLE, {}).get(NEW_TITLE) or {}).get("value")
    title = typed.strip() if isinstance(typed, str) else ""
    if case_id is not None and (not isinstance(case_id, str) or not CASE_ID.fullmatch(case_id)):
        return {CASE_PICK: "That is not a case the menu offered; choose one from the menu."}
    if case_id and title:
        return {NEW_TITLE: "Choose a case or name a new one, not both."}
    if case_id:
        return Chosen(case_id=case_id)
    if not allow_new:
        return {CASE_PICK: "Choose the case to add to."}
    if not title:
        return {CASE_PICK: "Choose a case, or give a new case a title below."}
    if len(title) > TITLE_LIMIT:
        return {NEW_TITLE: f"A case title has at most {TITLE_LIMIT} characters; this one has {len(title)}."}
    return Chosen(title=title)


def options_listener(services: Services, forms: Mapping[str, tuple[Action, type[PickerOrigin]]]) -> Callable[..., Any]:
    """Bolt's `options` listener of the menu: the open cases matching what was typed. `forms` names, by
    callback id, each form's action (the person's key is looked up for it) and its metadata."""

    async def on_options(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        assert isinstance(view, dict)
        form = forms.get(str(view.get("callback_id")))
        try:
            if form is None:
                raise ValueError("not a form with the case menu")
            performed, metadata = form
            origin = metadata.unpack(view.get("private_metadata"))
        except ValueError:
            log.warning("case menu: a form the bot did not make (user %s)", context.user_id)
            await ack(options=[])
            return
        if not origin.ready:
            await ack(options=[])
            return
        typed = body.get("value")
        words = typed.strip()[:200] if isinstance(typed, str) else ""
        actor = Actor(user_id=str(context.user_id or ""), team_id=context.team_id, channel_id=origin.channel)
        await ack(options=await _open_cases(services, actor, performed, origin, words))

    return on_options


def _as_you_type(words: str) -> str | None:
    """What was typed as Kibana's `search` (a simple_query_string): each word, the last also as the
    beginning of a word (`data` finds *Database latency*); the query syntax's own characters dropped."""
    kept = [re.sub(r"[^\w.-]", "", word) for word in words.split()]
    kept = [word for word in kept if word]
    if not kept:
        return None
    return " ".join([*kept[:-1], kept[-1] + "*"])


async def _open_cases(
    services: Services, actor: Actor, action: Action, origin: PickerOrigin, words: str
) -> list[Block]:
    try:
        key = await person_key(services, actor, action)
        if isinstance(key, Unlinked):
            return []
        with as_person(services, actor, key):
            async with asyncio.timeout(OPTIONS_WAIT):
                page = await services.kibana.find_cases(
                    search=_as_you_type(words),
                    search_fields=["title", "description"] if _as_you_type(words) else None,
                    status="open",
                    owner=services.settings.case_owner,
                    space=origin.space,
                    per_page=OPTIONS_LIMIT,
                    sort_field="updatedAt",
                )
    except (KibanaError, TimeoutError) as error:
        log.info("case menu: Kibana did not list cases (%s)", error)
        return []
    except Exception:
        log.exception("case menu: listing cases failed")
        return []
    return [option(case.title or case.id, case.id) for case in page.cases if CASE_ID.fullmatch(case.id)]
