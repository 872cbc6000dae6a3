"""Kibana's Webhook connector, as the bot meets it: the body it renders, and what it makes of the answer.

- `render_body(template, variables)` is Kibana's `renderMustacheString(template, variables, 'json')`
  (x-pack/platform/plugins/shared/actions/server/lib/mustache_renderer.ts) for the templates of
  docs/alerts.md: each `{{a.b}}` is the value at that path, escaped as `escapeJSON` does
  (`JSON.stringify(String(value))` without its quotes), so quoted variables stay valid JSON. As in
  mustache.js, an array renders comma-joined (`String(array)`), a plain object as JSON (Kibana's
  `toString`), `null` and a missing path as nothing; Kibana gives every array an `asJSON`
  (`{{rule.tags.asJSON}}` → `["prod","db,eu"]`). `JSON.stringify` escapes `"`, `\\`, the controls
  below U+0020 (`\\n`, `\\u0000`…) and a lone UTF-16 surrogate (`\\ud83d`: half an emoji, from a log
  line cut short), nothing else. Sections, partials and triple braces are not modelled (refused).
  tests/unit/test_alert_webhook_body.py checks this against mustache.js itself when Node is there.
- `AlertVariables` are the action variables Kibana gives one alert's action (`rule.*`, `alert.*`,
  `context.*`, `date`).
- `send(url, token, body)` posts like the connector and returns what Kibana records for the action
  (stack_connectors webhook executor): a 2xx is `ok`; 5xx and 429 are errors Kibana retries (429 at
  `Retry-After`); any other status fails the action for good, and the action's history shows
  `[status] statusText: message`, `message` read from the answer's JSON body.
- `run_action(client, url, token, body, attempts=N)` runs the action as the task manager does: `send`,
  then again at Retry-After (429) or after a pause (5xx) while Kibana would retry, at most N runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

Value = str | int | float | bool | None | Sequence["Value"] | Mapping[str, "Value"]

_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _js_json_string(text: str) -> str:
    """`JSON.stringify(text)` as JavaScript writes it (ES2019 well-formed: lone surrogates escaped).
    A Python str may hold a surrogate pair as two code points; JavaScript reads it as one character."""
    out = ['"']
    i = 0
    while i < len(text):
        char = text[i]
        code = ord(char)
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(text) and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 2
            continue
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
        i += 1
    out.append('"')
    return "".join(out)


def _js_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def js_json(value: Value) -> str:
    """`JSON.stringify(value)`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_number(value)
    if isinstance(value, str):
        return _js_json_string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_js_json_string(k)}:{js_json(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(js_json(item) for item in value) + "]"


def js_string(value: Value) -> str:
    """`String(value)` of a variable as Kibana augments it (a plain object's toString is its JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return js_json(value)
    return ",".join(js_string(item) for item in value)  # Array.prototype.join: null and undefined are ""


def _lookup(variables: Mapping[str, Value], path: str) -> Value:
    value: Value = variables
    for name in path.split("."):
        if isinstance(value, Mapping) and name in value:
            value = value[name]
        elif isinstance(value, Sequence) and not isinstance(value, str) and name == "asJSON":
            return js_json(value)
        else:
            return None
    return value


def render_body(template: str, variables: Mapping[str, Value]) -> bytes:
    """The body Kibana sends for `template` (UTF-8, as its HTTP client encodes it)."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if not name or name[0] in "#^/>!&{=":
            raise ValueError(f"{{{{{name}}}}}: only plain variables are modelled")
        return _js_json_string(js_string(_lookup(variables, name)))[1:-1]

    return _VARIABLE.sub(variable, template).encode("utf-8")


@dataclass
class AlertVariables:
    """The action variables of one alert, as Kibana gives them to its actions."""

    rule_id: str
    alert_id: str
    alert_uuid: str
    rule_name: str = "CPU high"
    space_id: str = "default"
    action_group: str = "threshold met"
    reason: str = ""
    message: str = ""
    tags: list[str] = field(default_factory=list)
    rule_url: str = ""  # empty without server.publicBaseUrl
    date: str = "2026-12-03T10:42:07.123Z"
    flapping: bool = False
    # Rule-type context: index threshold and ES query give value and conditions; Observability rules
    # give alertDetailsUrl. Absent (None) renders as an empty string, as Kibana's mustache does.
    value: str | None = None
    conditions: str | None = None
    alert_details_url: str | None = None

    def variables(self) -> dict[str, Value]:
        return {
            "rule": {
                "id": self.rule_id,
                "name": self.rule_name,
                "spaceId": self.space_id,
                "tags": list(self.tags),
                "url": self.rule_url,
            },
            "alert": {
                "id": self.alert_id,
                "uuid": self.alert_uuid,
                "actionGroup": self.action_group,
                "flapping": self.flapping,
            },
            "context": {
                "reason": self.reason,
                "message": self.message,
                **{
                    name: value
                    for name, value in (
                        ("value", self.value),
                        ("conditions", self.conditions),
                        ("alertDetailsUrl", self.alert_details_url),
                    )
                    if value is not None
                },
            },
            "date": self.date,
        }


@dataclass(frozen=True)
class ActionResult:
    """What Kibana records for one run of the action."""

    status: Literal["ok", "error"]
    retry: bool  # Kibana runs the action again (a 5xx, or a 429 at Retry-After)
    message: str  # Kibana's own words ("error calling webhook, invalid response")
    service_message: str | None  # "[422] Unprocessable Entity: <the answer's message>"
    http_status: int


TIMEOUT = 60.0  # seconds; Kibana's connectors wait about as long


async def send(url: str, token: str, body: bytes) -> ActionResult:
    """POST the rendered body as the connector does (headers of docs/alerts.md) and judge the answer."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        answer = await client.post(url, content=body, headers=headers)
    return judge(answer)


RETRY_PAUSE = 1.0  # seconds before the next run after a 5xx, or a 429 that names no Retry-After (bounded here)


async def run_action(
    client: httpx.AsyncClient, url: str, token: str, body: bytes, *, attempts: int, seen: list[int] | None = None
) -> tuple[ActionResult, int]:
    """Run one webhook action as Kibana's task manager does: again while the connector says retry (a 429
    at its Retry-After, a 5xx after a pause), at most `attempts` runs. What Kibana records in the end and
    how many runs it took; every status answered is appended to `seen`."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for attempt in range(1, attempts + 1):
        answer = await client.post(url, content=body, headers=headers)
        if seen is not None:
            seen.append(answer.status_code)
        result = judge(answer)
        if not result.retry or attempt == attempts:
            return result, attempt
        await asyncio.sleep(float(answer.headers.get("retry-after", RETRY_PAUSE)))
    raise ValueError("attempts must be at least 1")


def judge(answer: httpx.Response) -> ActionResult:
    status = answer.status_code
    if 200 <= status < 300:
        return ActionResult("ok", False, "", None, status)
    try:
        data = answer.json()
    except ValueError:
        data = None
    said = data.get("message") if isinstance(data, dict) else None
    service = f"[{status}] {answer.reason_phrase}" + (f": {said}" if said else "")
    if status >= 500:
        return ActionResult("error", True, "error calling webhook, retry later", service, status)
    if status == 429:
        return ActionResult("error", True, "error calling webhook, retry at Retry-After", service, status)
    return ActionResult("error", False, "error calling webhook, invalid response", service, status)


def documented_bodies(guide: str) -> list[str]:
    """The connector bodies a page gives (its ```json blocks that name `rule_id`), as users paste them."""
    return [body for body in re.findall(r"```json\n(\{.*?\})\n```", guide, re.S) if '"rule_id"' in body]
