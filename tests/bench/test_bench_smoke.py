"""Every benchmark runs at a tiny size and reports its figures (never asserting on them)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("ack", "kibana", "fanout", "memory", "startup", "storm", "storm_kill", "alerts_poll")
NO_BASELINE = {"storm", "storm_kill"}  # measured against its targets only
HEADLINE = ("measure", "bot", "baseline", "ratio", "met", "targets", "figures", "seconds")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "tiny.json"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench", "--size", "tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(out.read_text())


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_the_table_names_every_benchmark(tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    done, doc = tiny_run
    assert "| benchmark | measure | bot | baseline | ratio |" in done.stdout
    for name in NAMES:
        assert f"| `{name}` |" in done.stdout
    assert doc["size"] == "tiny"
    assert _finite(doc["machine"]["cores"]) and doc["machine"]["python"]


@pytest.mark.parametrize("name", NAMES)
def test_each_benchmark_reports_finite_figures(
    tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]], name: str
) -> None:
    result = tiny_run[1]["benchmarks"][name]
    assert set(HEADLINE) <= set(result)
    assert _finite(result["bot"])
    if name in NO_BASELINE:
        assert result["baseline"] is None and result["ratio"] is None
    else:
        assert _finite(result["ratio"])
        assert result["baseline"] is None or _finite(result["baseline"])
    assert result["targets"] and all(_finite(t["value"]) and isinstance(t["met"], bool) for t in result["targets"])
    assert isinstance(result["met"], bool)


def test_ack_figures(tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    figures = tiny_run[1]["benchmarks"]["ack"]["figures"]
    for key in ("bot_p50_s", "bot_p99_s", "baseline_p50_s", "baseline_p99_s", "bot_max_s"):
        assert _finite(figures[key])
    assert figures["completed_s"] and all(_finite(s) for s in figures["completed_s"])
    assert figures["requests"] == 20


def test_kibana_fanout_memory_startup_figures(
    tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    bench = tiny_run[1]["benchmarks"]
    assert _finite(bench["kibana"]["figures"]["bot_calls_per_s"])
    assert _finite(bench["kibana"]["figures"]["raw_httpx_calls_per_s"])
    fanout = bench["fanout"]["figures"]
    assert fanout["subscriptions"] == 10 and fanout["spaces"] == 2
    assert all(_finite(s) for s in fanout["tick_s"] + fanout["direct_slack_sdk_s"])
    assert all(isinstance(n, int) for n in fanout["kibana_health_requests_per_tick"])
    memory = bench["memory"]["figures"]
    assert memory["requests"] == 200
    assert all(_finite(memory[k]) for k in ("rss_start_kib", "rss_after_warmup_kib", "rss_end_kib"))
    startup = bench["startup"]["figures"]
    assert startup["bot_s"] and startup["bare_bolt_s"]
    assert all(_finite(s) for s in startup["bot_s"] + startup["bare_bolt_s"] + startup["stack_floor_s"])
    assert "sqlalchemy.ext.asyncio" in startup["stack_floor_modules"] and _finite(startup["stack_floor_ratio"])


def test_storm_figures(tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    done, doc = tiny_run
    storm = doc["benchmarks"]["storm"]["figures"]
    assert storm["deliveries"] == 20 and storm["rules"] == 4 and storm["channels"] == 2
    assert set(storm["top_level_messages_per_channel"]) == {"C00000", "C00001"}
    assert storm["alerts_accounted_for"] + storm["alerts_lost"] == 20
    assert storm["webhook_attempts"] >= 40  # every alert fired and recovered, retries on top
    assert isinstance(storm["calls_before_retry_after"], int)
    assert _finite(storm["final_state_after_last_delivery_s"])
    assert storm["slack_calls_by_method"].get("chat.postMessage", 0) >= 1
    assert "| calls before Retry-After had passed |" in done.stdout
    # two replicas on one database (PostgreSQL when TEST_DATABASE_URL / BENCH_DATABASE_URL is set, else SQLite)
    assert storm["replicas"] == 2 and storm["database"] in {"postgresql", "sqlite"}
    assert set(storm["webhook_answers_by_replica"]) == {"0", "1"}
    busiest = storm["slack_busiest_minute"]["chat.postMessage"]
    assert 1 <= busiest["calls"] <= storm["slack_calls_by_method"]["chat.postMessage"] and busiest["budget"] > 0


def test_storm_kill_figures(tiny_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    done, doc = tiny_run
    storm = doc["benchmarks"]["storm_kill"]["figures"]
    assert storm["killed"]["replica"] == 0 and _finite(storm["killed"]["after_s"])
    assert storm["alerts_accounted_for"] + storm["alerts_lost"] == 20
    assert isinstance(storm["rules_with_two_top_level_messages"], int)
    assert "| replica killed (SIGKILL) |" in done.stdout
