"""Injected faults: latency, error statuses (with Retry-After) and dropped connections."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """One fault rule. `times=None` means it applies forever."""

    method: str
    path_pattern: re.Pattern[str]
    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    times: int | None = None
    body: dict[str, Any] | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self.path_pattern.fullmatch(path) is not None


class Faults:
    """The fault list; the first live fault that matches a request is used (and consumed once)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.hits += 1
                return fault
        return None

    def __len__(self) -> int:
        return len(self._faults)


def retry_after_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
