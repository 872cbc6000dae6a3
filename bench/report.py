"""The table printed at the end of `python -m bench`, and the same figures as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import Result

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
    }


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "nan"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(results: list[Result]) -> str:
    """A Markdown table: one row per benchmark, with each target and whether it was met."""
    rows = [
        "| benchmark | measure | bot | baseline | ratio | targets | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        targets = "; ".join(f"{t.what}: {_number(t.value)} {'✓' if t.met else '✗'}" for t in result.targets)
        rows.append(
            f"| `{result.name}` | {result.measure} | {_number(result.bot)} | {_number(result.baseline)} "
            f"| {_number(result.ratio)} | {targets} | {'yes' if result.met else 'NO'} |"
        )
    return "\n".join(rows)


def document(results: list[Result], size: str, seconds: float) -> dict[str, Any]:
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "machine": machine(),
        "seconds": seconds,
        "all_met": all(r.met for r in results),
        "benchmarks": {r.name: r.as_json() for r in results},
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
