"""The report a scheduled run posts, from a real health read against the fake Kibana:
ok, warn, 401, 403 and unreachable each say what they are and why; --on-change summaries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.kibana import KibanaClient, RetryPolicy
from devkit.fake_kibana import FakeKibana
from handlers.health.report import HealthOutcome, check_health, health_blocks, health_text

KEY = "report-test-key"


@pytest.fixture
async def kibana() -> AsyncIterator[FakeKibana]:
    async with FakeKibana(api_keys=(KEY,)) as fake:
        yield fake


def client(url: str, key: str = KEY) -> KibanaClient:
    return KibanaClient(
        base_url=url, api_key=key, retry=RetryPolicy(attempts=2, wait_initial=0.001, wait_max=0.01, wait_jitter=0)
    )


def text_of(blocks: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(element["text"] for element in block.get("elements", []))
    return "\n".join(parts)


async def read(url: str, space: str = "default", key: str = KEY) -> HealthOutcome:
    kibana = client(url, key)
    try:
        return await check_health(kibana, space)
    finally:
        await kibana.aclose()


async def test_ok_report_has_every_part(kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1")
    outcome = await read(kibana.url, "ops")
    assert (outcome.status, outcome.summary()) == ("ok", "ok;decryption=ok,execution=ok,read=ok")
    blocks = health_blocks(outcome, footer="Scheduled report #7")
    text = text_of(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Kibana alerting health: ok", "emoji": True},
    }
    for part in ("*decryption*: ok (as of 20", "*execution*: ok", "*read*: ok", "Sufficiently secure: yes"):
        assert part in text
    assert "Space `ops` · checked " in text and " UTC" in text and "Scheduled report #7" in text
    assert kibana.requests[-1].path == "/s/ops/api/alerting/_health"


async def test_warn_report_with_advice(kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", execution_status="error", error_reason="execute")
    kibana.is_sufficiently_secure = False
    kibana.has_permanent_encryption_key = False
    outcome = await read(kibana.url)
    assert outcome.summary() == "warn;decryption=ok,execution=warn,read=ok"
    text = text_of(health_blocks(outcome))
    assert "Overall *warn*" in text and "*execution*: warn" in text
    assert "enable TLS" in text and "API keys" in text
    assert "xpack.encryptedSavedObjects.encryptionKey" in text
    assert health_text(outcome) == "Kibana alerting health: warn (space default)"


async def test_rejected_credentials_are_reported(kibana: FakeKibana) -> None:
    outcome = await read(kibana.url, key="wrong-key")
    assert (outcome.status, outcome.problem, outcome.summary()) == ("unreachable", "401", "unreachable:401")
    text = text_of(health_blocks(outcome))
    assert "credentials rejected (401)" in text and "KIBANA_API_KEY" in text
    assert "wrong-key" not in text + health_text(outcome)


async def test_forbidden_is_reported(kibana: FakeKibana) -> None:
    kibana.forbid("health")
    outcome = await read(kibana.url)
    assert outcome.problem == "403"
    text = text_of(health_blocks(outcome))
    assert "not allowed to read alerting health (403)" in text
    assert "Unauthorized to access alerting framework health" in text


async def test_unreachable_kibana_is_reported() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await read(f"http://127.0.0.1:{port}")
    assert (outcome.status, outcome.problem) == ("unreachable", "unreachable")
    text = text_of(health_blocks(outcome))
    assert "Kibana unreachable" in text and "Kibana could not be reached" in text
    assert health_text(outcome).startswith("Kibana alerting health: unreachable (space default)")


async def test_kibana_5xx_is_unreachable_and_differs_from_401(kibana: FakeKibana) -> None:
    kibana.fault("GET", "/api/alerting/_health", status=503)
    outcome = await read(kibana.url)
    assert outcome.summary() == "unreachable:unreachable"
    assert "(503)" in outcome.detail
    kibana.clear_faults()
    assert outcome.summary() != (await read(kibana.url, key="wrong")).summary()
