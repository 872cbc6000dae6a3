"""What the fake Kibana received and what it answered (for tests and contract checks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the fake Kibana received it.

    `path` is the full path (with any `/s/{space}` prefix); `route` is the matched
    template without the prefix (e.g. "/api/alerting/rule/{id}/_disable"), or None when
    no route matched. `query` maps each key to its value, or to a list when repeated.
    """

    method: str
    path: str
    space: str
    route: str | None
    path_params: dict[str, str]
    query: dict[str, str | list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    query_string: str = ""

    def __repr__(self) -> str:  # never show credentials
        return f"RecordedRequest({self.method} {self.path} route={self.route!r})"


@dataclass(frozen=True)
class Exchange:
    """A request and the answer the fake gave (passed to `on_exchange`)."""

    request: RecordedRequest
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def route(self) -> str | None:
        return self.request.route

    @property
    def path_params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None
