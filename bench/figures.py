"""Small statistics and the result record every benchmark returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.nan


@dataclass
class Target:
    """One target of the issue's table, and whether this run met it."""

    what: str  # e.g. "p99 ratio ≤ 1.3"
    value: float
    limit: float
    kind: str  # "max" (value ≤ limit), "min" (value ≥ limit) or "eq"

    @property
    def met(self) -> bool:
        if math.isnan(self.value):
            return False
        if self.kind == "max":
            return self.value <= self.limit
        if self.kind == "min":
            return self.value >= self.limit
        return self.value == self.limit

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "value": self.value, "limit": self.limit, "kind": self.kind, "met": self.met}


@dataclass
class Result:
    """A benchmark's figures: the headline row of the table, plus every measured number."""

    name: str
    measure: str  # what the headline compares, e.g. "ack p99 (s)"
    bot: float
    baseline: float | None
    ratio: float | None
    targets: list[Target]
    figures: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    details: str = ""  # a Markdown table of its own, printed after the summary table

    @property
    def met(self) -> bool:
        return all(t.met for t in self.targets)

    def as_json(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "bot": self.bot,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "met": self.met,
            "targets": [t.as_json() for t in self.targets],
            "figures": self.figures,
            "seconds": self.seconds,
        }
