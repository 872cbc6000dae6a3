"""`view.state.values` the way Slack fills it in.

Slack sends a state entry for every input block (empty ones too: `value: null`,
`selected_option: null`, `selected_options: []`…, or the element's initial value), keyed
`{block_id: {action_id: {"type": …, <value key>: …}}}` (reference/slack/platform.md §4).
Callers may give either that exact shape or just the plain value (`"Disk full"`,
`"option-value"`, `["U1", "U2"]`), which is turned into the element's shape.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
ONE_OPTION = {"static_select", "external_select", "radio_buttons", "overflow"}
MANY_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}
# element type → (state key, initial key, empty value)
PICKERS: dict[str, tuple[str, str, Any]] = {
    "users_select": ("selected_user", "initial_user", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "conversations_select": ("selected_conversation", "initial_conversation", None),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
    "channels_select": ("selected_channel", "initial_channel", None),
    "multi_channels_select": ("selected_channels", "initial_channels", []),
    "datepicker": ("selected_date", "initial_date", None),
    "timepicker": ("selected_time", "initial_time", None),
    "datetimepicker": ("selected_date_time", "initial_date_time", None),
}


def stateful_elements(blocks: list[Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(block_id, element, is_input_block) for every element that can hold state."""
    for block in blocks:
        if not isinstance(block, dict) or "block_id" not in block:
            continue
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block["block_id"], block["element"], True
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block["block_id"], block["accessory"], False
        elif block.get("type") == "actions":
            for element in block.get("elements", []):
                if isinstance(element, dict):
                    yield block["block_id"], element, False


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def option_for(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in options_of(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    if element.get("type", "").endswith("external_select"):
        return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    raise ValueError(f"{element.get('action_id')!r} has no option with value {value!r}")


def initial_state(element: dict[str, Any]) -> dict[str, Any]:
    """What Slack reports for an element the user did not touch."""
    kind = element.get("type", "")
    state: dict[str, Any] = {"type": kind}
    if kind in TEXT_INPUTS:
        if kind != "number_input" or "initial_value" in element:
            state["value"] = element.get("initial_value")
    elif kind in ONE_OPTION:
        state["selected_option"] = copy.deepcopy(element.get("initial_option"))
    elif kind in MANY_OPTIONS:
        state["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
    elif kind in PICKERS:
        key, initial, empty = PICKERS[kind]
        state[key] = copy.deepcopy(element.get(initial, empty))
    if element.get("response_url_enabled"):
        state["response_url_enabled"] = True
    return state


def chosen_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state entry for `value` chosen in `element`."""
    if isinstance(value, dict) and "type" in value:
        return copy.deepcopy(value)
    state = initial_state(element)
    kind = state["type"]
    if kind in TEXT_INPUTS:
        state["value"] = None if value is None else str(value)
    elif kind in ONE_OPTION:
        state["selected_option"] = None if value is None else option_for(element, str(value))
    elif kind in MANY_OPTIONS:
        state["selected_options"] = [option_for(element, str(v)) for v in value]
    elif kind in PICKERS:
        state[PICKERS[kind][0]] = value
    else:
        raise ValueError(f"cannot set a value on a {kind!r} element")
    return state


def state_values(blocks: list[Any], values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`state.values` for a view with these blocks after the user entered `values`."""
    elements: dict[tuple[str, str], tuple[dict[str, Any], bool]] = {
        (block, str(el.get("action_id"))): (el, is_input) for block, el, is_input in stateful_elements(blocks)
    }
    for wanted_block, by_action in values.items():
        for wanted_action in by_action:
            if (wanted_block, wanted_action) not in elements:
                raise ValueError(f"the view has no element {wanted_block!r}/{wanted_action!r}")
    result: dict[str, dict[str, Any]] = {}
    for (block_id, action_id), (element, is_input) in elements.items():
        given = values.get(block_id, {})
        if action_id in given:
            result.setdefault(block_id, {})[action_id] = chosen_state(element, given[action_id])
        elif is_input:
            result.setdefault(block_id, {})[action_id] = initial_state(element)
    return result
