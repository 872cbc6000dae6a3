"""What the fake Slack records, and the error its Web API methods raise."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiCall:
    """One Web API call as the fake received and answered it."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    response: dict[str, Any]
    http_method: str = "POST"
    at: float = field(default_factory=time.monotonic)  # when the fake answered it (the benchmarks' windows)

    def __repr__(self) -> str:  # the token stays out of reprs
        return f"ApiCall({self.method!r}, status={self.status}, ok={self.response.get('ok')!r})"

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass
class ResponseUrlPost:
    """One POST to a response_url handed out by `FakeSlack.response_url()`."""

    name: str
    url: str
    body: dict[str, Any]
    channel: str | None = None
    message_ts: str | None = None


@dataclass
class Fault:
    """A failure the next call(s) of one method get instead of the real answer."""

    error: str
    times: int | None
    status: int = 200
    retry_after: int | None = None


class SlackApiFailure(Exception):
    """Raised by a method handler: Slack's `{"ok": false, "error": …}` answer."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages or []
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body
