"""Block Kit limits, checked the way Slack checks them.

Each check yields Slack's hint text, e.g.
``[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]``; the
Web API turns a non-empty list into ``invalid_blocks`` (messages) or
``invalid_arguments`` (views) with the hints in ``response_metadata.messages``.
Limits: reference/slack/platform.md §6.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
INPUT_LABEL = 2000
INPUT_HINT = 2000
TEXT_INPUT = 3000  # a plain_text_input's value, initial_value and max_length (min_length 0–3000)
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
PLACEHOLDER = 150
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
ID_LENGTH = 255
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255

KNOWN_BLOCKS = {
    "actions",
    "call",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}


def _too_long(value: object, limit: int, pointer: str) -> Iterator[str]:
    if isinstance(value, str) and len(value) > limit:
        yield f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _too_many(items: object, limit: int, pointer: str) -> Iterator[str]:
    if isinstance(items, list) and len(items) > limit:
        yield f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"


def _text_of(obj: object) -> object:
    return obj.get("text") if isinstance(obj, dict) else None


def _option(option: object, pointer: str) -> Iterator[str]:
    if not isinstance(option, dict):
        return
    yield from _too_long(_text_of(option.get("text")), OPTION_TEXT, f"{pointer}/text/text")
    yield from _too_long(option.get("value"), OPTION_VALUE, f"{pointer}/value")


def element_problems(element: object, pointer: str) -> Iterator[str]:
    """Limits of one interactive element (button, select, input…)."""
    if not isinstance(element, dict):
        yield f"[ERROR] must be an object [json-pointer:{pointer}]"
        return
    yield from _too_long(element.get("action_id"), ID_LENGTH, f"{pointer}/action_id")
    yield from _too_long(_text_of(element.get("placeholder")), PLACEHOLDER, f"{pointer}/placeholder/text")
    if element.get("type") == "button":
        yield from _too_long(_text_of(element.get("text")), BUTTON_TEXT, f"{pointer}/text/text")
        yield from _too_long(element.get("value"), BUTTON_VALUE, f"{pointer}/value")
        yield from _too_long(element.get("url"), BUTTON_URL, f"{pointer}/url")
    if element.get("type") == "plain_text_input":
        yield from _too_long(element.get("initial_value"), TEXT_INPUT, f"{pointer}/initial_value")
        for key, least in (("min_length", 0), ("max_length", 1)):
            value = element.get(key)
            if isinstance(value, int) and not least <= value <= TEXT_INPUT:
                yield f"[ERROR] must be between {least} and {TEXT_INPUT} [json-pointer:{pointer}/{key}]"
    for key in ("options", "option_groups"):
        yield from _too_many(element.get(key), OPTIONS, f"{pointer}/{key}")
    for index, option in enumerate(element.get("options") or []):
        yield from _option(option, f"{pointer}/options/{index}")


def block_problems(block: object, pointer: str) -> Iterator[str]:
    """Limits of one block and the elements inside it."""
    if not isinstance(block, dict):
        yield f"[ERROR] must be an object [json-pointer:{pointer}]"
        return
    kind = block.get("type")
    if kind not in KNOWN_BLOCKS:
        yield f"[ERROR] unsupported type: {kind} [json-pointer:{pointer}/type]"
        return
    yield from _too_long(block.get("block_id"), ID_LENGTH, f"{pointer}/block_id")
    if kind == "section":
        yield from _too_long(_text_of(block.get("text")), SECTION_TEXT, f"{pointer}/text/text")
        fields = block.get("fields")
        yield from _too_many(fields, SECTION_FIELDS, f"{pointer}/fields")
        for index, item in enumerate(fields or []):
            yield from _too_long(_text_of(item), SECTION_FIELD, f"{pointer}/fields/{index}/text")
        if "accessory" in block:
            yield from element_problems(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        yield from _too_long(_text_of(block.get("text")), HEADER_TEXT, f"{pointer}/text/text")
    elif kind == "actions":
        elements = block.get("elements")
        yield from _too_many(elements, ACTIONS_ELEMENTS, f"{pointer}/elements")
        for index, element in enumerate(elements or []):
            yield from element_problems(element, f"{pointer}/elements/{index}")
    elif kind == "context":
        yield from _too_many(block.get("elements"), CONTEXT_ELEMENTS, f"{pointer}/elements")
    elif kind == "input":
        yield from _too_long(_text_of(block.get("label")), INPUT_LABEL, f"{pointer}/label/text")
        yield from _too_long(_text_of(block.get("hint")), INPUT_HINT, f"{pointer}/hint/text")
        yield from element_problems(block.get("element"), f"{pointer}/element")


def blocks_problems(blocks: object, limit: int, pointer: str) -> list[str]:
    """Every limit a list of blocks breaks (count, ids, texts, elements)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    problems = list(_too_many(blocks, limit, pointer))
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        problems.extend(block_problems(block, f"{pointer}/{index}"))
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{pointer}/{index}/block_id]")
            seen.add(block_id)
    return problems


def message_problems(blocks: object) -> list[str]:
    """Limits of a message's `blocks` (chat.postMessage, chat.update, response_url)."""
    return blocks_problems(blocks, MESSAGE_BLOCKS, "/blocks")


def view_problems(view: dict[str, Any]) -> list[str]:
    """Limits of a modal view (views.open / views.push / views.update)."""
    problems: list[str] = []
    if view.get("type") not in ("modal", "home"):
        problems.append("[ERROR] must be one of modal, home [json-pointer:/view/type]")
    for key in ("title", "submit", "close"):
        problems.extend(_too_long(_text_of(view.get(key)), VIEW_TITLE, f"/view/{key}/text"))
    if view.get("type") == "modal" and not isinstance(view.get("title"), dict):
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if view.get("type") == "modal" and has_input and not isinstance(view.get("submit"), dict):
        problems.append("[ERROR] must provide a submit property when using input blocks [json-pointer:/view]")
    problems.extend(_too_long(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata"))
    problems.extend(_too_long(view.get("callback_id"), CALLBACK_ID, "/view/callback_id"))
    problems.extend(_too_long(view.get("external_id"), ID_LENGTH, "/view/external_id"))
    problems.extend(blocks_problems(view.get("blocks", []), MODAL_BLOCKS, "/view/blocks"))
    return problems
