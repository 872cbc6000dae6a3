"""bot.alerts_index against the fake Elasticsearch: one search per space, search_after paging from a
cursor, typed models, and typed errors with sentences."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch

from bot.alerts_index import (
    AlertCursor,
    AlertsIndexForbidden,
    AlertsIndexRejected,
    AlertsIndexUnauthorized,
    AlertsIndexUnavailable,
    AlertsIndexUnreachable,
    Interest,
    alerts_readable,
    build_query,
    client_from_settings,
    forbidden,
    search_alert_changes,
)
from bot.settings import load_settings
from devkit.fake_elasticsearch import FakeElasticsearch

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALL = Interest.of(everything=True)


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


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_one_search_per_space_covers_rules_and_tags_of_every_subscription(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.add_alert(rule_id="disk", instance_id="d1", tags=["storage"], at=at(1))
    fake_es.add_alert(rule_id="other", instance_id="o1", at=at(2))
    fake_es.add_alert(rule_id="cpu", instance_id="h9", space="ops", at=at(3))
    interest = Interest.of(rule_ids=["cpu"]) | Interest.of(tags=["storage"])
    result = await search_alert_changes(es, space="default", interest=interest, cursor=None)
    assert [(c.rule_uuid, c.instance_id) for c in result.changes] == [("cpu", "h1"), ("disk", "d1")]
    assert result.searches == 1 and result.complete and len(fake_es.searches()) == 1
    body = fake_es.searches()[0].json
    assert body["query"] == build_query("default", interest)
    assert body["sort"] == [{"@timestamp": {"order": "asc"}}, {"kibana.alert.uuid": {"order": "asc"}}]
    assert body["track_total_hits"] is False


async def test_changes_are_typed_models_with_a_cursor(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", rule_name="CPU", tags=["prod"], at=at(0))
    [change] = (await search_alert_changes(es, space="default", interest=ALL, cursor=None)).changes
    assert change.status == "active" and change.event_action == "open"
    assert change.rule_name == "CPU" and change.rule_tags == ["prod"] and change.space_ids == ["default"]
    assert change.timestamp == T0 and change.start == T0 and change.end is None
    assert change.index == ".internal.alerts-stack.alerts-default-000001"
    assert change.cursor == AlertCursor(timestamp_ms=int(T0.timestamp() * 1000), alert_uuid=change.alert_uuid)


async def test_after_the_cursor_come_recoveries_and_ongoing_alerts_but_not_untracking(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.add_alert(rule_id="cpu", instance_id="h2", at=at(0))
    first = await search_alert_changes(es, space="default", interest=ALL, cursor=None)
    assert len(first.changes) == 2
    assert (await search_alert_changes(es, space="default", interest=ALL, cursor=first.cursor)).changes == []
    fake_es.recover(rule_id="cpu", instance_id="h1", at=at(1))
    fake_es.untrack(rule_id="cpu", instance_id="h2", at=at(1))
    fake_es.add_alert(rule_id="cpu", instance_id="h3", at=at(1))
    fake_es.add_alert(rule_id="cpu", instance_id="h3", at=at(2))  # written again: ongoing
    later = await search_alert_changes(es, space="default", interest=ALL, cursor=first.cursor)
    assert sorted((c.instance_id, c.status, c.event_action) for c in later.changes) == [
        ("h1", "recovered", "close"),
        ("h3", "active", "active"),
    ]
    recovered = next(c for c in later.changes if c.instance_id == "h1")
    assert recovered.end == at(1)
    # Untracking keeps @timestamp and event.action: it stays where the rule run put it, before the cursor.
    [untracked] = [c for c in first.changes if c.instance_id == "h2"]
    everything = await search_alert_changes(es, space="default", interest=ALL, cursor=None)
    [now] = [c for c in everything.changes if c.instance_id == "h2"]
    assert (now.status, now.event_action, now.cursor, now.end) == ("untracked", "open", untracked.cursor, at(1))


async def test_paging_with_search_after_until_done(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    for i in range(23):
        fake_es.add_alert(rule_id="cpu", instance_id=f"h{i:02}", at=at(i // 5))  # ties on @timestamp
    result = await search_alert_changes(es, space="default", interest=ALL, cursor=None, page_size=5)
    assert len(result.changes) == 23 == len({c.alert_uuid for c in result.changes})
    assert result.searches == 5 and result.complete
    assert [s.json.get("search_after") is None for s in fake_es.searches()] == [True, False, False, False, False]


async def test_paging_stops_at_the_bound_and_resumes_from_the_cursor(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    for i in range(12):
        fake_es.add_alert(rule_id="cpu", instance_id=f"h{i:02}", at=at(i))
    bounded = await search_alert_changes(es, space="default", interest=ALL, cursor=None, page_size=4, max_pages=2)
    assert len(bounded.changes) == 8 and not bounded.complete and bounded.searches == 2
    rest = await search_alert_changes(es, space="default", interest=ALL, cursor=bounded.cursor, page_size=4)
    assert [c.instance_id for c in rest.changes] == ["h08", "h09", "h10", "h11"]


async def test_a_cursor_at_a_moment_skips_what_came_before(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="old", at=at(0))
    fake_es.add_alert(rule_id="cpu", instance_id="new", at=at(5))
    result = await search_alert_changes(es, space="default", interest=ALL, cursor=AlertCursor.at(at(5)))
    assert [c.instance_id for c in result.changes] == ["new"]


async def test_no_interest_makes_no_search(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    result = await search_alert_changes(es, space="default", interest=Interest.of(), cursor=None)
    assert result.changes == [] and result.searches == 0 and fake_es.searches() == []


async def test_the_page_size_is_bounded(es: AsyncElasticsearch) -> None:
    with pytest.raises(ValueError, match="max_result_window"):
        await search_alert_changes(es, space="default", interest=ALL, cursor=None, page_size=10_001)


# ------------------------------------------------------------------------ errors
async def test_403_names_who_lacks_which_privilege(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.deny_alerts_read()
    with pytest.raises(AlertsIndexForbidden) as caught:
        await search_alert_changes(es, space="default", interest=ALL, cursor=None)
    error = caught.value
    assert error.privileges == ["read", "all"] and error.action == "indices:data/read/search"
    assert error.who == "API key id [fake-es-key-id] of user [elastic]" and error.indices == ".alerts-*"
    assert error.sentence == (
        "the bot's Elasticsearch credentials (API key id [fake-es-key-id] of user [elastic]) may not read "
        ".alerts-*: give them the index privilege `read` on `.alerts-*` (Elasticsearch refused "
        "indices:data/read/search)"
    )


async def test_read_on_other_indices_only_is_caught_by_alerts_readable(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.deny_alerts_read("other_indices")
    assert (await search_alert_changes(es, space="default", interest=ALL, cursor=None)).changes == []
    with pytest.raises(AlertsIndexForbidden, match=r"may not read \.alerts-\*"):
        await alerts_readable(es)
    fake_es.allow_alerts_read()
    await alerts_readable(es)


async def test_401_says_which_setting_to_check(fake_es: FakeElasticsearch) -> None:
    wrong = base64.b64encode(b"fake-es-key-id:wrong").decode()
    async with AsyncElasticsearch(fake_es.url, api_key=wrong, max_retries=0) as client:
        with pytest.raises(AlertsIndexUnauthorized) as caught:
            await search_alert_changes(client, space="default", interest=ALL, cursor=None)
    assert "ELASTICSEARCH_API_KEY" in caught.value.sentence and caught.value.status_code == 401
    assert "unable to authenticate" in (caught.value.reason or "")


async def test_unreachable_and_unavailable(fake_es: FakeElasticsearch) -> None:
    fake_es.fault("*", r"/.+/_search", status=503)
    async with AsyncElasticsearch(fake_es.url, api_key=fake_es.api_key, max_retries=0) as client:
        with pytest.raises(AlertsIndexUnavailable, match="answered 503"):
            await search_alert_changes(client, space="default", interest=ALL, cursor=None)
    url = fake_es.url
    await fake_es.stop()
    async with AsyncElasticsearch(url, api_key=fake_es.api_key, max_retries=0) as client:
        with pytest.raises(AlertsIndexUnreachable, match="cannot be reached"):
            await search_alert_changes(client, space="default", interest=ALL, cursor=None, url=url)


async def test_an_unreadable_document_is_reported_and_the_others_are_read(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    doc = fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    fake_es.alerts[doc["kibana.alert.uuid"]].extra["kibana.alert.start"] = "not a date"
    fake_es.add_alert(rule_id="cpu", instance_id="h2", at=at(1))
    result = await search_alert_changes(es, space="default", interest=ALL, cursor=None)
    assert [c.instance_id for c in result.changes] == ["h2"]
    [unreadable] = result.unreadable
    assert (unreadable.id, unreadable.rule_uuid) == (doc["kibana.alert.uuid"], "cpu")
    assert unreadable.cause.startswith("kibana.alert.start: Input should be a valid datetime")
    assert unreadable.index == ".internal.alerts-stack.alerts-default-000001"
    assert result.cursor == result.changes[0].cursor  # read past it


async def test_an_answer_without_sort_values_is_rejected(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="cpu", instance_id="h1", at=at(0))
    hit = {"_index": "x", "_id": "y", "_source": {}}
    fake_es.fault("POST", r"/.+/_search", status=200, body={"hits": {"hits": [hit]}}, times=1)
    with pytest.raises(AlertsIndexRejected, match="came without its sort values"):
        await search_alert_changes(es, space="default", interest=ALL, cursor=None)


def test_forbidden_reason_of_a_user() -> None:
    error = forbidden(
        "action [indices:data/read/search] is unauthorized for user [bot] with effective roles [chatops] on "
        "indices [.alerts-stack.alerts-default], this action is granted by the index privileges [read,all]"
    )
    assert error.who == "user [bot] with effective roles [chatops]"
    assert error.indices == ".alerts-stack.alerts-default"
    unknown = forbidden("something else entirely")
    assert unknown.sentence.endswith("(403): something else entirely")


# ------------------------------------------------------------------------ settings
def test_credentials_default_to_kibanas(tmp_path: Path) -> None:
    base = {"slack_bot_token": "xoxb-test-token", "elasticsearch_url": "https://es.example.com:9200"}
    assert load_settings(**base, kibana_api_key="kib-key").elasticsearch_credentials == ("api_key", "kib-key")
    own = load_settings(**base, kibana_api_key="kib-key", elasticsearch_api_key="es-key")
    assert own.elasticsearch_credentials == ("api_key", "es-key")
    basic = load_settings(**base, elasticsearch_username="bot", elasticsearch_password="pw-123456")
    assert basic.elasticsearch_credentials == ("basic", ("bot", "pw-123456"))
    assert base64.b64encode(b"bot:pw-123456").decode() in basic.secret_values
    assert "es-key" in own.secret_values
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_settings(**base, kibana_ca_cert=str(ca)).elasticsearch_tls == str(ca)
    assert load_settings(**base, kibana_ca_cert=str(ca), elasticsearch_verify_tls=False).elasticsearch_tls is False
    assert load_settings(**base, kibana_verify_tls=False).elasticsearch_tls is False
    assert load_settings(**base).elasticsearch_tls is True


def test_malformed_elasticsearch_settings_name_the_variable() -> None:
    from bot.settings import ConfigError

    with pytest.raises(ConfigError, match="ELASTICSEARCH_PASSWORD"):
        load_settings(slack_bot_token="xoxb-test-token", elasticsearch_username="bot")
    with pytest.raises(ConfigError, match="ELASTICSEARCH_URL"):
        load_settings(slack_bot_token="xoxb-test-token", elasticsearch_url="https://u:p@es.example.com")
    with pytest.raises(ConfigError, match="ELASTICSEARCH_URL"):
        load_settings(slack_bot_token="xoxb-test-token", elasticsearch_url="not a url")
