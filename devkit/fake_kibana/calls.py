"""What a route handler gets (`Call`) and returns (`Reply`), and config-schema style checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import Boom
from .state import KibanaState


@dataclass
class Reply:
    """A successful answer: JSON `body` (None = empty body, e.g. 204)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One request routed to a handler, after authentication and kbn-xsrf."""

    state: KibanaState
    method: str
    route: str
    space: str
    params: dict[str, str]
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    json: Any
    form: dict[str, tuple[str | None, bytes]] | None
    username: str
    now: datetime
    auth_scheme: str = "apikey"  # "apikey" | "basic": how the caller authenticated

    def query_values(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for key, value in self.query:
            values.setdefault(key, []).append(value)
        return values


Handler = Callable[[Call], Reply]


def type_name(value: Any) -> str:
    """config-schema's name for a JS value type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "Array"
    return "Object"


def coerce_boolean(value: Any, where: str) -> bool:
    """config-schema boolean: real booleans, or "true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Boom(400, f"[{where}]: expected value of type [boolean] but got [{type_name(value)}]")


def coerce_number(value: Any, where: str, *, minimum: float | None = None) -> float:
    number: float
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Boom(400, f"[{where}]: expected value of type [number] but got [{type_name(value)}]")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise Boom(400, f"[{where}]: expected value of type [number] but got [string]") from None
    else:
        number = float(value)
    if minimum is not None and number < minimum:
        shown = int(minimum) if float(minimum).is_integer() else minimum
        raise Boom(400, f"[{where}]: Value must be equal to or greater than [{shown}].")
    return number


def one_of_literals(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value in allowed:
        return str(value)
    lines = [f"[{where}]: types that failed validation:"]
    lines += [f"- [{where}.{n}]: expected value to equal [{literal}]" for n, literal in enumerate(allowed)]
    raise Boom(400, "\n".join(lines))


def config_schema_query(call: Call, spec: Mapping[str, str]) -> dict[str, Any]:
    """Validate query keys as a config-schema `query` object.

    `spec` maps a key to "string", "number", "page" (number ≥ 1), "per_page" (number ≥ 0),
    "boolean", "strings" (a string or an array of strings) or "enum:a|b".
    Unknown keys are rejected; scalar keys given twice are arrays and rejected.
    """
    result: dict[str, Any] = {}
    for key, values in call.query_values().items():
        where = f"request query.{key}"
        kind = spec.get(key)
        if kind is None:
            raise Boom(400, f"[{where}]: definition for this key is missing")
        if kind == "strings":
            result[key] = values
            continue
        if len(values) > 1:
            raise Boom(400, f"[{where}]: expected value of type [{kind.split(':')[0]}] but got [Array]")
        value = values[0]
        if kind == "number":
            result[key] = coerce_number(value, where)
        elif kind == "page":
            result[key] = coerce_number(value, where, minimum=1)
        elif kind == "per_page":
            result[key] = coerce_number(value, where, minimum=0)
        elif kind == "boolean":
            result[key] = coerce_boolean(value, where)
        elif kind.startswith("enum:"):
            result[key] = one_of_literals(value, tuple(kind[5:].split("|")), where)
        else:
            result[key] = value
    return result


def object_body(call: Call, where: str = "request body") -> dict[str, Any]:
    """The JSON body as an object, or the config-schema type error."""
    if not isinstance(call.json, dict):
        raise Boom(400, f"[{where}]: expected a plain object value, but found [{type_name(call.json)}] instead.")
    return call.json


def reject_unknown_keys(body: Mapping[str, Any], allowed: set[str], where: str = "request body") -> None:
    for key in body:
        if key not in allowed:
            raise Boom(400, f"[{where}.{key}]: definition for this key is missing")
