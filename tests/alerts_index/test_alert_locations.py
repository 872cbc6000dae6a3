"""Where an alert's document is, for a case's alert attachment: its `_id` and concrete `_index` read from
Elasticsearch (the fake writes them as Kibana does), or the rule type's alerts alias without it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch

from bot.alerts_index.errors import AlertsIndexForbidden
from bot.alerts_index.locate import alias_for, locate_alerts
from bot.alerts_index.search import client_from_settings
from bot.settings import load_settings
from devkit.fake_elasticsearch import RULE_TYPE_CONTEXTS, FakeElasticsearch
from devkit.fake_elasticsearch import alias_for as fake_alias_for


@pytest.fixture
async def fake_es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
async def es(fake_es: FakeElasticsearch) -> AsyncIterator[AsyncElasticsearch]:
    settings = load_settings(
        slack_bot_token="xoxb-test-token", elasticsearch_url=fake_es.url, elasticsearch_api_key=fake_es.api_key
    )
    client = client_from_settings(settings)
    try:
        yield client
    finally:
        await client.close()


async def test_each_alert_is_found_by_its_uuid_in_its_space(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    cpu = fake_es.add_alert(rule_id="r1", instance_id="h1", rule_name="CPU high", uuid="u-1")
    fake_es.add_alert(rule_id="r2", instance_id="m1", rule_type_id="metrics.alert.threshold", uuid="u-2")
    fake_es.add_alert(rule_id="r3", instance_id="x", space="ops", uuid="u-3")
    found = await locate_alerts(es, ["u-1", "u-2", "u-3", "gone"], space="default")
    assert set(found) == {"u-1", "u-2"}  # u-3 is of another space; "gone" has no document
    assert found["u-1"].alert_id == "u-1" == cpu["kibana.alert.uuid"]
    assert found["u-1"].index == ".internal.alerts-stack.alerts-default-000001"
    assert (found["u-1"].rule_id, found["u-1"].rule_name) == ("r1", "CPU high")
    assert found["u-2"].index == ".internal.alerts-observability.metrics.alerts-default-000001"
    assert await locate_alerts(es, [], space="default") == {}


async def test_a_refusal_is_a_typed_error(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="r1", instance_id="h1", uuid="u-1")
    fake_es.deny_alerts_read()
    with pytest.raises(AlertsIndexForbidden):
        await locate_alerts(es, ["u-1"], space="default")


def test_the_alias_of_every_rule_type_the_fake_writes_is_the_one_kibana_writes_to() -> None:
    for rule_type_id in RULE_TYPE_CONTEXTS:
        assert alias_for(rule_type_id, "ops") == fake_alias_for(rule_type_id, "ops"), rule_type_id
    assert alias_for("siem.eqlRule", "ops") == ".alerts-security.alerts-ops"  # Security's namespace is the space
    assert alias_for("some.unknown.type", "default") is None
