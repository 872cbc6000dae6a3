"""`python -m bot check`'s Elasticsearch line, against the fake Elasticsearch."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.checks import check_elasticsearch, run_checks
from bot.settings import Settings, load_settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack


@pytest.fixture
async def fake_es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch(version="8.17.0") as fake:
        yield fake


def settings_for(url: str | None, **values: object) -> Settings:
    return load_settings(slack_bot_token="xoxb-test-token", elasticsearch_url=url, **values)


async def test_no_line_without_elasticsearch_url() -> None:
    assert await check_elasticsearch(settings_for(None)) == []


async def test_ok_names_the_version_and_whose_credentials(fake_es: FakeElasticsearch) -> None:
    [result] = await check_elasticsearch(settings_for(fake_es.url, kibana_api_key=fake_es.api_key))
    assert result.ok
    assert result.line() == (
        f"Elasticsearch: ok — reachable at {fake_es.url} (Elasticsearch 8.17.0), "
        ".alerts-* readable with KIBANA_* API key"
    )
    [basic] = await check_elasticsearch(
        settings_for(fake_es.url, elasticsearch_username="elastic", elasticsearch_password="changeme")
    )
    assert basic.ok and basic.detail.endswith("readable with ELASTICSEARCH_* user")


async def test_forbidden_says_what_is_missing(fake_es: FakeElasticsearch) -> None:
    fake_es.deny_alerts_read("other_indices")
    [result] = await check_elasticsearch(settings_for(fake_es.url, elasticsearch_api_key=fake_es.api_key))
    assert not result.ok
    assert result.detail == (
        f"reachable at {fake_es.url} (Elasticsearch 8.17.0), but credentials lack a privilege (403): the bot's "
        "Elasticsearch credentials (user [elastic]) may not read .alerts-*: give them the index privilege `read` "
        "on `.alerts-*`"
    )


async def test_without_the_monitor_privilege_the_version_is_unknown_but_reading_is_checked(
    fake_es: FakeElasticsearch,
) -> None:
    fake_es.cluster_monitor = False
    [result] = await check_elasticsearch(settings_for(fake_es.url, elasticsearch_api_key=fake_es.api_key))
    assert result.ok and "(version not shown to these credentials)" in result.detail


async def test_rejected_credentials(fake_es: FakeElasticsearch) -> None:
    wrong = base64.b64encode(b"fake-es-key-id:wrong").decode()
    [result] = await check_elasticsearch(settings_for(fake_es.url, elasticsearch_api_key=wrong))
    assert not result.ok and result.detail.startswith("credentials rejected (401): check ELASTICSEARCH_API_KEY")


async def test_unreachable(fake_es: FakeElasticsearch) -> None:
    url = fake_es.url
    await fake_es.stop()
    [result] = await check_elasticsearch(settings_for(url, elasticsearch_api_key=fake_es.api_key))
    assert not result.ok and result.detail == f"Elasticsearch at {url} cannot be reached (connection refused)"


async def test_server_error(fake_es: FakeElasticsearch) -> None:
    fake_es.fault("GET", "/", status=503)
    [result] = await check_elasticsearch(settings_for(fake_es.url, elasticsearch_api_key=fake_es.api_key))
    assert not result.ok and "answered 503" in result.detail


async def test_run_checks_puts_the_elasticsearch_line_after_kibanas(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    """The whole `check`, with the fake Kibana sharing its API key with the fake Elasticsearch (as a
    real Kibana API key is an Elasticsearch API key)."""
    async with FakeKibana(api_keys=(fake_es.api_key,)) as kibana, FakeSlack() as slack:
        settings = load_settings(
            slack_bot_token=slack.bot_token,
            slack_api_url=slack.api_url,
            kibana_url=kibana.url,
            kibana_api_key=fake_es.api_key,
            elasticsearch_url=fake_es.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'check.db'}",
        )
        results = await run_checks(settings)
    services = [r.service for r in results]
    kibana_lines = [s for s in services if s.startswith("Kibana")]
    assert services[: len(kibana_lines)] == kibana_lines  # Kibana's lines (reachability, version, what it lacks)
    assert services[len(kibana_lines) : len(kibana_lines) + 3] == ["Elasticsearch", "Alert intake", "Slack"]
    intake = next(r for r in results if r.service == "Alert intake")
    assert intake.ok and intake.detail.startswith("polling .alerts-* every 5 s for `alerts subscribe` (any licence)")
    assert all(r.ok for r in results if r.service in ("Kibana", "Elasticsearch", "Slack"))
