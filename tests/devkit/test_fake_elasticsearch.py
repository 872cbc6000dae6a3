"""The fake Elasticsearch, driven by the official async client (elasticsearch[async])."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    ConnectionError,
    NotFoundError,
)

from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SORT = [{"@timestamp": {"order": "asc"}}, {"kibana.alert.uuid": "asc"}]


@pytest.fixture
async def fake_es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
async def es(fake_es: FakeElasticsearch) -> AsyncIterator[AsyncElasticsearch]:
    async with AsyncElasticsearch(fake_es.url, api_key=fake_es.api_key, max_retries=0) as client:
        yield client


def seed(fake: FakeElasticsearch, count: int, *, space: str = "default", rule_id: str = "r1") -> None:
    for i in range(count):
        fake.add_alert(rule_id=rule_id, instance_id=f"host-{i}", space=space, at=T0 + timedelta(seconds=i))


async def error_of(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


# ------------------------------------------------------------------------ product, info, compatibility
async def test_info_is_cluster_info_with_the_product_header(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    info = await es.info()
    assert info.meta.headers["x-elastic-product"] == "Elasticsearch"
    body = info.body
    assert body["tagline"] == "You Know, for Search"
    assert body["cluster_name"] == "fake-cluster" and body["cluster_uuid"]
    version = body["version"]
    assert version["number"] == "8.17.0" and version["build_flavor"] == "default"
    assert {"lucene_version", "minimum_wire_compatibility_version", "minimum_index_compatibility_version"} <= set(
        version
    )


async def test_every_answer_even_an_error_carries_the_product_header(es: AsyncElasticsearch) -> None:
    error = await error_of(es.search(index=".alerts-*", query={"nope": {}}))
    assert error.meta.headers["x-elastic-product"] == "Elasticsearch"


async def test_an_8x_server_refuses_what_a_9x_client_sends() -> None:
    """elasticsearch-py 9.x asks for compatible-with=9; an 8.x server answers 400 (why the project pins <9)."""
    headers = {"accept": "application/vnd.elasticsearch+json; compatible-with=9"}
    async with FakeElasticsearch(version="8.17.0") as fake, httpx.AsyncClient(base_url=fake.url) as http:
        answer = await http.get("/", headers={**headers, "authorization": f"ApiKey {fake.api_key}"})
    assert answer.status_code == 400 and answer.headers["x-elastic-product"] == "Elasticsearch"
    error = answer.json()["error"]
    assert error["type"] == "media_type_header_exception"
    assert "Accept version must be either version 8 or 7, but found 9" in error["caused_by"]["reason"]


async def test_a_9x_server_answers_the_8x_client() -> None:
    async with FakeElasticsearch(version="9.1.0") as fake, AsyncElasticsearch(fake.url, api_key=fake.api_key) as es:
        assert (await es.info()).body["version"]["number"] == "9.1.0"


# ------------------------------------------------------------------------ security
async def test_basic_auth_works(fake_es: FakeElasticsearch) -> None:
    async with AsyncElasticsearch(fake_es.url, basic_auth=("elastic", "changeme")) as client:
        assert (await client.info()).body["tagline"] == "You Know, for Search"


async def test_missing_credentials_are_401_with_the_challenges(fake_es: FakeElasticsearch) -> None:
    async with AsyncElasticsearch(fake_es.url, max_retries=0) as client:
        with pytest.raises(AuthenticationException) as caught:
            await client.search(index=".alerts-*")
    error = caught.value
    assert error.status_code == 401
    assert error.body["error"]["type"] == "security_exception"
    assert error.body["error"]["reason"].startswith(
        "missing authentication credentials for REST request [/.alerts-*/_search"
    )
    assert error.body["error"]["root_cause"][0]["type"] == "security_exception"
    challenges = [v for k, v in error.meta.headers.items() if k.lower() == "www-authenticate"]
    assert challenges and challenges[0].startswith('Basic realm="security"')
    assert error.body["error"]["header"]["WWW-Authenticate"] == ['Basic realm="security", charset="UTF-8"', "ApiKey"]


async def test_a_wrong_api_key_is_401(fake_es: FakeElasticsearch) -> None:
    wrong = base64.b64encode(b"fake-es-key-id:wrong").decode()
    async with AsyncElasticsearch(fake_es.url, api_key=wrong, max_retries=0) as client:
        with pytest.raises(AuthenticationException) as caught:
            await client.search(index=".alerts-*")
    error = caught.value.body["error"]
    assert "unable to authenticate with provided credentials" in error["reason"]
    assert error["additional_unsuccessful_credentials"] == "API key: invalid credentials for API key [fake-es-key-id]"


async def test_a_wrong_password_is_401_naming_the_user(fake_es: FakeElasticsearch) -> None:
    async with AsyncElasticsearch(fake_es.url, basic_auth=("elastic", "nope"), max_retries=0) as client:
        with pytest.raises(AuthenticationException) as caught:
            await client.info()
    assert caught.value.body["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/]"


async def test_no_read_privilege_is_403_naming_action_key_and_indices(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    seed(fake_es, 1)
    fake_es.deny_alerts_read()
    with pytest.raises(AuthorizationException) as caught:
        await es.search(index=".alerts-*")
    error = caught.value
    assert error.status_code == 403 and error.body["error"]["type"] == "security_exception"
    assert error.body["error"]["reason"] == (
        "action [indices:data/read/search] is unauthorized for API key id [fake-es-key-id] of user [elastic] "
        "on indices [.alerts-*], this action is granted by the index privileges [read,all]"
    )


async def test_a_user_denial_names_the_user_and_roles(fake_es: FakeElasticsearch) -> None:
    fake_es.deny_alerts_read()
    async with AsyncElasticsearch(fake_es.url, basic_auth=("elastic", "changeme"), max_retries=0) as client:
        with pytest.raises(AuthorizationException) as caught:
            await client.search(index=".alerts-stack.alerts-default")
    assert (
        "for user [elastic] with effective roles [kibana_chatops] on indices [.alerts-stack.alerts-default]"
        in (caught.value.body["error"]["reason"])
    )


async def test_read_on_other_indices_only_hides_alerts_from_wildcards_and_refuses_names(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    seed(fake_es, 2)
    fake_es.deny_alerts_read("other_indices")
    empty = await es.search(index=".alerts-*")
    assert empty.body["hits"]["total"]["value"] == 0
    with pytest.raises(AuthorizationException):
        await es.search(index=".alerts-stack.alerts-default")
    privileges = await es.security.has_privileges(index=[{"names": [".alerts-*"], "privileges": ["read"]}])
    assert privileges.body["has_all_requested"] is False
    assert privileges.body["index"] == {".alerts-*": {"read": False}}
    fake_es.allow_alerts_read()
    assert (await es.search(index=".alerts-*")).body["hits"]["total"]["value"] == 2


async def test_has_privileges_when_granted(es: AsyncElasticsearch) -> None:
    answer = await es.security.has_privileges(index=[{"names": [".alerts-*"], "privileges": ["read"]}])
    assert answer.body["has_all_requested"] is True and answer.body["username"] == "elastic"


# ------------------------------------------------------------------------ indices and documents
async def test_hits_come_from_the_backing_index_of_each_alias(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    fake_es.add_alert(rule_id="r1", instance_id="h1", at=T0)
    fake_es.add_alert(rule_id="m1", instance_id="h1", rule_type_id="metrics.alert.threshold", at=T0)
    fake_es.add_alert(rule_id="l1", instance_id="h1", rule_type_id="logs.alert.document.count", space="ops", at=T0)
    answer = await es.search(index=".alerts-*", sort=SORT)
    assert sorted(hit["_index"] for hit in answer.body["hits"]["hits"]) == [
        ".internal.alerts-observability.logs.alerts-default-000001",
        ".internal.alerts-observability.metrics.alerts-default-000001",
        ".internal.alerts-stack.alerts-default-000001",
    ]
    only_metrics = await es.search(index=".alerts-observability.metrics.alerts-default")
    assert [h["_source"]["kibana.alert.rule.uuid"] for h in only_metrics.body["hits"]["hits"]] == ["m1"]
    both = await es.search(index=".alerts-stack.alerts-default,.alerts-observability.logs.*")
    assert both.body["hits"]["total"]["value"] == 2


async def test_an_unknown_concrete_index_is_404_and_an_empty_wildcard_is_no_hits(es: AsyncElasticsearch) -> None:
    with pytest.raises(NotFoundError) as caught:
        await es.search(index=".alerts-nothing")
    assert caught.value.body["error"]["reason"] == "no such index [.alerts-nothing]"
    assert (await es.search(index=".alerts-*")).body["hits"]["hits"] == []


async def test_documents_have_the_alerts_as_data_fields(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="r1", instance_id="host-1", rule_name="CPU", tags=["prod"], space="ops", at=T0)
    source = (await es.search(index=".alerts-*")).body["hits"]["hits"][0]["_source"]
    assert source["kibana.alert.rule.uuid"] == "r1" and source["kibana.alert.instance.id"] == "host-1"
    assert source["kibana.alert.rule.name"] == "CPU" and source["kibana.alert.rule.tags"] == ["prod"]
    assert source["kibana.alert.status"] == "active" and source["event.action"] == "open"
    assert source["kibana.space_ids"] == ["ops"] and source["@timestamp"] == "2026-03-01T12:00:00.000Z"
    assert source["kibana.alert.rule.rule_type_id"] == ".index-threshold"
    assert {"kibana.alert.uuid", "kibana.alert.reason", "kibana.alert.start", "kibana.alert.workflow_status"} <= set(
        source
    )
    assert "kibana.alert.end" not in source


async def test_an_alert_goes_on_then_recovers_in_the_same_document(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    first = fake_es.add_alert(rule_id="r1", instance_id="h1", at=T0)
    again = fake_es.add_alert(rule_id="r1", instance_id="h1", at=T0 + timedelta(minutes=1))
    assert again["kibana.alert.uuid"] == first["kibana.alert.uuid"] and again["event.action"] == "active"
    fake_es.recover(rule_id="r1", instance_id="h1", at=T0 + timedelta(minutes=2))
    hits = (await es.search(index=".alerts-*")).body["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    assert source["kibana.alert.status"] == "recovered" and source["event.action"] == "close"
    assert source["kibana.alert.end"] == "2026-03-01T12:02:00.000Z"


async def test_alerts_from_the_fake_kibana_agree_with_its_rules(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    kibana = FakeKibana()
    kibana.add_rule(id="cpu", name="CPU high", tags=["prod"], active_alerts=["h1", "h2"])
    kibana.add_rule(id="disk", space="ops", active_alerts=["d1"])
    assert fake_es.alerts_from(kibana, at=T0) == 3
    kibana.set_active_alerts("cpu", ["h2"])
    fake_es.alerts_from(kibana, at=T0 + timedelta(minutes=1))
    assert fake_es.alert("cpu", "h1")["kibana.alert.status"] == "recovered"
    assert fake_es.alert("cpu", "h2")["event.action"] == "active"
    assert fake_es.alert("disk", "d1", space="ops")["kibana.space_ids"] == ["ops"]
    answer = await es.search(index=".alerts-*", query={"term": {"kibana.alert.status": "active"}})
    assert answer.body["hits"]["total"]["value"] == 2
    kibana.add_rule(id="quiet", active_alerts=["q1"], enabled=False)
    assert fake_es.alerts_from(kibana, at=T0 + timedelta(minutes=2)) == 2  # cpu/h2 again, disk/d1 again
    cpu_rule = kibana.stored_rule("cpu")
    cpu_rule.untracked_alerts.extend(cpu_rule.active_alerts)  # what disable --untrack does
    cpu_rule.active_alerts, cpu_rule.enabled = [], False
    fake_es.alerts_from(kibana, at=T0 + timedelta(minutes=3))
    assert fake_es.alert("cpu", "h2")["kibana.alert.status"] == "untracked"


# ------------------------------------------------------------------------ written as Kibana writes them
async def test_a_run_stamps_its_documents_with_its_start_and_writes_them_at_its_end(
    fake_es: FakeElasticsearch,
) -> None:
    kibana = FakeKibana()
    kibana.add_rule(id="cpu", active_alerts=["h1"])
    before = datetime.now(UTC)
    fake_es.alerts_from(kibana, took=timedelta(seconds=20))  # a run that ends now began 20 s ago
    stamped = datetime.fromisoformat(fake_es.alert("cpu", "h1")["@timestamp"])
    assert before - timedelta(seconds=21) < stamped <= datetime.now(UTC) - timedelta(seconds=20)

    kibana.set_active_alerts("cpu", ["h1", "h2"])
    began = datetime.now(UTC)
    run = asyncio.create_task(fake_es.run_rules(kibana, took=timedelta(milliseconds=200)))
    await asyncio.sleep(0.05)
    with pytest.raises(KeyError):  # nothing written while the run goes on
        fake_es.alert("cpu", "h2")
    assert await run == 2
    h1, h2 = fake_es.alert("cpu", "h1"), fake_es.alert("cpu", "h2")
    assert h1["@timestamp"] == h2["@timestamp"] and datetime.fromisoformat(h2["@timestamp"]) - began < timedelta(
        milliseconds=100
    )
    assert h1["kibana.alert.rule.execution.uuid"] == h2["kibana.alert.rule.execution.uuid"]  # one run
    assert h2["kibana.alert.time_range"] == {"gte": h2["kibana.alert.start"]}

    fake_es.resolve(kibana, "cpu", "h1", at=T0 + timedelta(days=1000))
    recovered = fake_es.alert("cpu", "h1")
    assert recovered["kibana.alert.end"] == recovered["@timestamp"] == recovered["kibana.alert.time_range"]["lte"]
    fake_es.alerts_from(kibana, at=T0 + timedelta(days=1001))
    assert fake_es.alert("cpu", "h1") == recovered  # a recovered alert's document is not written again


async def test_untracking_changes_only_the_status_the_end_and_the_time_range(fake_es: FakeElasticsearch) -> None:
    before = fake_es.add_alert(rule_id="cpu", instance_id="h1", at=T0)
    after = fake_es.untrack(rule_id="cpu", instance_id="h1", at=T0 + timedelta(hours=1))
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed == {"kibana.alert.status", "kibana.alert.end", "kibana.alert.time_range"}
    assert after["kibana.alert.status"] == "untracked" and after["event.action"] == "open"
    assert after["kibana.alert.end"] == after["kibana.alert.time_range"]["lte"] == "2026-03-01T13:00:00.000Z"


async def test_a_rule_disabled_with_untrack_in_the_fake_kibana_is_untracked_at_once(
    fake_es: FakeElasticsearch, fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_es.follow(fake_kibana)
    fake_kibana.add_rule(id="cpu", active_alerts=["h1", "h2"])
    fake_kibana.add_rule(id="disk", active_alerts=["d1"])
    fake_es.alerts_from(fake_kibana, at=T0)
    assert (await kibana_http.post("/api/alerting/rule/cpu/_disable", json={"untrack": True})).status_code == 204
    assert [fake_es.alert("cpu", h)["kibana.alert.status"] for h in ("h1", "h2")] == ["untracked", "untracked"]
    assert fake_es.alert("cpu", "h1")["@timestamp"] == "2026-03-01T12:00:00.000Z"
    assert fake_es.alert("disk", "d1")["kibana.alert.status"] == "active"
    assert fake_es.alerts_from(fake_kibana) == 1  # disk runs; cpu is disabled and has nothing left to untrack
    assert (await kibana_http.post("/api/alerting/rule/disk/_disable", json={"untrack": False})).status_code == 204
    assert fake_es.alert("disk", "d1")["kibana.alert.status"] == "active"


# ------------------------------------------------------------------------ query DSL
async def ids(es: AsyncElasticsearch, query: dict[str, Any]) -> list[str]:
    answer = await es.search(index=".alerts-*", query=query, sort=SORT, size=100)
    return [hit["_source"]["kibana.alert.instance.id"] for hit in answer.body["hits"]["hits"]]


async def test_bool_term_terms_range_exists(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    fake_es.add_alert(rule_id="r1", instance_id="a", tags=["prod", "db"], at=T0)
    fake_es.add_alert(rule_id="r2", instance_id="b", tags=["dev"], at=T0 + timedelta(minutes=1))
    fake_es.add_alert(rule_id="r3", instance_id="c", space="ops", at=T0 + timedelta(minutes=2))
    fake_es.recover(rule_id="r2", instance_id="b", at=T0 + timedelta(minutes=3))
    assert await ids(es, {"term": {"kibana.alert.rule.tags": "db"}}) == ["a"]
    assert await ids(es, {"term": {"kibana.alert.rule.tags": {"value": "prod"}}}) == ["a"]
    assert await ids(es, {"terms": {"kibana.alert.rule.uuid": ["r1", "r3"]}}) == ["a", "c"]
    assert await ids(es, {"range": {"@timestamp": {"gt": "2026-03-01T12:00:00Z"}}}) == ["c", "b"]
    millis = int((T0 + timedelta(minutes=2)).timestamp() * 1000)
    assert await ids(es, {"range": {"@timestamp": {"gte": millis, "lt": millis + 1}}}) == ["c"]
    assert await ids(es, {"exists": {"field": "kibana.alert.end"}}) == ["b"]
    assert await ids(es, {"match_all": {}}) == ["a", "c", "b"]
    query = {
        "bool": {
            "filter": [{"term": {"kibana.space_ids": "default"}}],
            "must_not": [{"term": {"kibana.alert.status": "recovered"}}],
        }
    }
    assert await ids(es, query) == ["a"]
    should = {
        "bool": {"should": [{"term": {"kibana.alert.rule.uuid": "r3"}}, {"term": {"kibana.alert.rule.tags": "dev"}}]}
    }
    assert await ids(es, should) == ["c", "b"]
    with_filter = {
        "bool": {
            "filter": [{"term": {"kibana.space_ids": "default"}}],
            "should": [{"term": {"kibana.alert.rule.uuid": "r2"}}, {"term": {"kibana.alert.rule.tags": "db"}}],
            "minimum_should_match": 1,
        }
    }
    assert await ids(es, with_filter) == ["a", "b"]
    without_minimum = dict(with_filter["bool"])
    del without_minimum["minimum_should_match"]
    assert await ids(es, {"bool": without_minimum}) == ["a", "b"]  # should is optional next to a filter


async def test_fields_are_found_as_dotted_keys_or_nested_objects(fake_es: FakeElasticsearch) -> None:
    from devkit.fake_elasticsearch.query import values

    doc = {"kibana.alert.rule.uuid": "a", "kibana": {"alert": {"rule.tags": ["x", "y"]}}, "event": {"action": "open"}}
    assert values(doc, "kibana.alert.rule.uuid") == ["a"]
    assert values(doc, "kibana.alert.rule.tags") == ["x", "y"]
    assert values(doc, "event.action") == ["open"]
    assert values(doc, "kibana.alert.missing") == []


@pytest.mark.parametrize(
    ("query", "kind", "reason"),
    [
        ({"match": {"kibana.alert.status": "active"}}, "parsing_exception", "unknown query [match]"),
        ({"termz": {"a": 1}}, "parsing_exception", "unknown query [termz] did you mean [term]?"),
        ({"bool": {"filtre": []}}, "parsing_exception", "[bool] query does not support [filtre]"),
        ({"term": {"a": "x", "b": "y"}}, "parsing_exception",
         "[term] query doesn't support multiple fields, found [a] and [b]"),
        ({"term": {"a": {"value": "x", "valeu": 1}}}, "parsing_exception", "[term] query does not support [valeu]"),
        ({"term": {"a": ["x"]}}, "parsing_exception", "[term] query does not support array of values"),
        ({"terms": {"kibana.alert.rule.uuid": "r1"}}, "parsing_exception",
         "[terms] query does not support [kibana.alert.rule.uuid]"),
        ({"range": {"@timestamp": {"after": 1}}}, "parsing_exception", "[range] query does not support [after]"),
        ({"exists": {}}, "parsing_exception", "[exists] must be provided with a [field]"),
        ({"term": {"a": 1}, "range": {"b": {}}}, "parsing_exception",
         "[term] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"),
    ],
)  # fmt: skip
async def test_malformed_queries_are_400_as_elasticsearch_words_them(
    es: AsyncElasticsearch, query: dict[str, Any], kind: str, reason: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await es.search(index=".alerts-*", query=query)
    body = caught.value.body
    assert body["status"] == 400
    assert body["error"]["type"] == kind and body["error"]["reason"] == reason
    assert body["error"]["root_cause"] == [{"type": kind, "reason": reason, "line": 1, "col": 1}]


async def test_unknown_top_level_keys_are_400(es: AsyncElasticsearch) -> None:
    with pytest.raises(BadRequestError) as caught:
        await es.search(index=".alerts-*", body={"query": {"match_all": {}}, "sorting": [{"@timestamp": "asc"}]})
    assert caught.value.body["error"]["reason"] == "Unknown key for a START_ARRAY in [sorting]."


async def test_a_bad_date_is_a_shard_failure(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    seed(fake_es, 1)
    with pytest.raises(BadRequestError) as caught:
        await es.search(index=".alerts-*", query={"range": {"@timestamp": {"gte": "yesterday"}}})
    error = caught.value.body["error"]
    assert error["type"] == "search_phase_execution_exception" and error["reason"] == "all shards failed"
    assert error["root_cause"][0]["type"] == "parse_exception"


# ------------------------------------------------------------------------ sort, size, paging
async def test_paging_with_search_after_visits_every_alert_once(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    seed(fake_es, 25)
    fake_es.add_alert(rule_id="r2", instance_id="same-time", at=T0 + timedelta(seconds=3))  # a tie on @timestamp
    seen: list[str] = []
    after: list[Any] | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"search_after": after} if after else {}
        answer = await es.search(index=".alerts-*", sort=SORT, size=10, track_total_hits=False, **kwargs)
        hits = answer.body["hits"]["hits"]
        assert "total" not in answer.body["hits"]
        if not hits:
            break
        pages += 1
        seen.extend(hit["_id"] for hit in hits)
        after = hits[-1]["sort"]
        assert isinstance(after[0], int) and isinstance(after[1], str)
    assert pages == 3 and len(seen) == 26 == len(set(seen))
    assert len(fake_es.searches()) == 4


async def test_sort_forms_and_descending_order(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    seed(fake_es, 3)
    for sort in ([{"@timestamp": {"order": "desc"}}], [{"@timestamp": "desc"}]):
        answer = await es.search(index=".alerts-*", sort=sort)
        assert [h["_source"]["kibana.alert.instance.id"] for h in answer.body["hits"]["hits"]] == [
            "host-2",
            "host-1",
            "host-0",
        ]
    plain = await es.search(index=".alerts-*", sort=["kibana.alert.instance.id"])
    assert [h["sort"] for h in plain.body["hits"]["hits"]] == [["host-0"], ["host-1"], ["host-2"]]
    assert plain.body["hits"]["max_score"] is None and plain.body["hits"]["hits"][0]["_score"] is None


async def test_search_after_without_sort_is_refused(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    seed(fake_es, 1)
    with pytest.raises(BadRequestError) as caught:
        await es.search(index=".alerts-*", search_after=[1, "x"])
    error = caught.value.body["error"]
    assert error["type"] == "search_phase_execution_exception"
    assert error["root_cause"][0]["reason"] == "Sort must contain at least one field."
    with pytest.raises(BadRequestError) as mismatch:
        await es.search(index=".alerts-*", sort=SORT, search_after=[1])
    assert mismatch.value.body["error"]["root_cause"][0]["reason"] == "search_after has 1 value(s) but sort has 2."


async def test_size_over_the_result_window_is_refused(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    seed(fake_es, 1)
    with pytest.raises(BadRequestError) as caught:
        await es.search(index=".alerts-*", size=10_001)
    reason = caught.value.body["error"]["root_cause"][0]["reason"]
    assert reason.startswith(
        "Result window is too large, from + size must be less than or equal to: [10000] but was [10001]."
    )
    assert "[index.max_result_window]" in reason
    assert (await es.search(index=".alerts-*", size=10_000)).body["hits"]["total"]["value"] == 1


async def test_default_size_total_hits_and_source_filtering(es: AsyncElasticsearch, fake_es: FakeElasticsearch) -> None:
    seed(fake_es, 12)
    answer = await es.search(index=".alerts-*", track_total_hits=5, source=["kibana.alert.uuid", "kibana.alert.rule"])
    hits = answer.body["hits"]
    assert len(hits["hits"]) == 10
    assert hits["total"] == {"value": 5, "relation": "gte"}
    source = hits["hits"][0]["_source"]
    assert "kibana.alert.uuid" in source and "kibana.alert.rule.uuid" in source and "kibana.alert.status" not in source
    none = await es.search(index=".alerts-*", source=False, size=1)
    assert "_source" not in none.body["hits"]["hits"][0]


async def test_source_patterns_exact_wildcard_object_and_excludes(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    seed(fake_es, 2)
    hits = (await es.search(index=".alerts-*", source=["kibana.alert.rule.*", "@timestamp"])).body["hits"]["hits"]
    keys = set(hits[0]["_source"])
    assert "@timestamp" in keys and "kibana.alert.rule.uuid" in keys and "kibana.alert.rule.tags" in keys
    assert "kibana.alert.uuid" not in keys and "event.action" not in keys
    filtered = await es.search(
        index=".alerts-*", source={"includes": ["kibana.alert.*"], "excludes": ["kibana.alert.rule.*"]}
    )
    keys = set(filtered.body["hits"]["hits"][1]["_source"])  # the second hit: the decisions hold for every hit
    assert "kibana.alert.uuid" in keys and "kibana.alert.status" in keys
    assert not any(k.startswith("kibana.alert.rule.") for k in keys) and "@timestamp" not in keys
    fake_es.alerts[next(iter(fake_es.alerts))].extra["kibana"] = {"alert": {"flapping_history": [True]}}
    nested = await es.search(index=".alerts-*", source=["kibana.alert.flapping_history"], sort=SORT, size=1)
    assert nested.body["hits"]["hits"][0]["_source"] == {"kibana": {"alert": {"flapping_history": [True]}}}


async def test_a_search_of_one_space_sees_every_change_of_its_documents(
    es: AsyncElasticsearch, fake_es: FakeElasticsearch
) -> None:
    """The fake leaves other spaces out before it renders documents, and keeps each rendering until the
    alert changes: what a search returns is still every change, whichever way it was made."""
    fake_es.add_alert(rule_id="r1", instance_id="a", space="ops", at=T0)
    fake_es.add_alert(rule_id="r1", instance_id="b", space="default", at=T0)
    moved = fake_es.add_alert(rule_id="r1", instance_id="c", space="default", at=T0 + timedelta(seconds=1))
    fake_es.alerts[moved["kibana.alert.uuid"]].extra["kibana.space_ids"] = ["ops"]  # the stored field is what counts
    in_ops = {"bool": {"filter": [{"term": {"kibana.space_ids": "ops"}}]}}
    assert await ids(es, in_ops) == ["a", "c"]
    assert await ids(es, {"bool": {"filter": [{"term": {"kibana.space_ids": {"value": "ops"}}}]}}) == ["a", "c"]
    alert = fake_es.alerts[fake_es.alert("r1", "a", space="ops")["kibana.alert.uuid"]]
    alert.reason = "changed in place"  # a field set directly, after the document was rendered
    alert.tags.append("late")  # a list changed in place
    source = (await es.search(index=".alerts-*", query=in_ops, sort=SORT, size=1)).body["hits"]["hits"][0]["_source"]
    assert source["kibana.alert.reason"] == "changed in place" and source["kibana.alert.rule.tags"] == ["late"]


def test_required_term_names_only_a_term_every_match_must_have() -> None:
    from devkit.fake_elasticsearch.query import required_term

    field = "kibana.space_ids"
    assert required_term({"bool": {"filter": [{"term": {field: "ops"}}]}}, field) == "ops"
    assert required_term({"bool": {"must": {"term": {field: {"value": "ops"}}}}}, field) == "ops"
    assert required_term({"bool": {"should": [{"term": {field: "ops"}}]}}, field) is None
    assert required_term({"bool": {"must_not": [{"term": {field: "ops"}}]}}, field) is None
    insensitive = {"term": {field: {"value": "ops", "case_insensitive": True}}}
    assert required_term({"bool": {"filter": [insensitive]}}, field) is None
    assert required_term({"bool": {"filter": [{"terms": {field: ["ops"]}}]}}, field) is None
    assert required_term({"term": {field: "ops"}}, field) is None  # not a bool: no shortcut taken, still correct
    assert required_term(None, field) is None


# ------------------------------------------------------------------------ faults and records
async def test_faults_latency_status_and_drop(fake_es: FakeElasticsearch) -> None:
    async with AsyncElasticsearch(fake_es.url, api_key=fake_es.api_key, max_retries=0, request_timeout=2) as client:
        fake_es.fault("*", r"/.+/_search", status=503, times=1)
        with pytest.raises(ApiError) as caught:
            await client.search(index=".alerts-*")
        assert caught.value.status_code == 503
        assert (await client.search(index=".alerts-*")).body["hits"]["hits"] == []
        fake_es.fault("*", r"/", drop=True)  # aiohttp retries a dropped keep-alive connection once by itself
        with pytest.raises(ConnectionError):
            await client.info()
        fake_es.clear_faults()
        fake_es.fault("*", r"/", latency=0.05, times=1)
        assert (await client.info()).body["version"]["number"] == "8.17.0"
    recorded = fake_es.searches()
    assert len(recorded) == 2 and recorded[0].path_params == {"index": ".alerts-*"}
    assert recorded[0].headers["authorization"].startswith("ApiKey ")


# ------------------------------------------------------------------------ what else an alert carries
def test_new_alerts_carry_the_windows_running_when_they_began_and_the_rule_type_s_evaluation(
    fake_es: FakeElasticsearch,
) -> None:
    from devkit.fake_kibana.maintenance_windows import MaintenanceWindow

    kibana = FakeKibana()
    kibana.add_rule(id="cpu", tags=["web"], active_alerts=["h1"])
    kibana.add_rule(id="other", rule_type_id=".es-query", tags=["db"], active_alerts=["o1"])
    fake_es.alerts_from(kibana, at=T0)  # before any window: h1 is not in one
    window = MaintenanceWindow(
        id="mw-1", space="default", title="Deploy", enabled=True, custom={}, start=T0 + timedelta(minutes=1),
        duration=timedelta(hours=1), created_by="elastic", created_at=T0, updated_by="elastic", updated_at=T0,
        kql='kibana.alert.rule.tags: "web"',
    )  # fmt: skip
    kibana.state.maintenance_windows[("default", "mw-1")] = window
    kibana.set_active_alerts("cpu", ["h1", "h2"])
    kibana.set_active_alerts("other", ["o1", "o2"])
    fake_es.alerts_from(kibana, at=T0 + timedelta(minutes=2))
    assert fake_es.alert("cpu", "h1")["kibana.alert.maintenance_window_ids"] == []  # began before the window
    assert fake_es.alert("cpu", "h2")["kibana.alert.maintenance_window_ids"] == ["mw-1"]
    assert fake_es.alert("other", "o2")["kibana.alert.maintenance_window_ids"] == []  # not tagged web
    h2 = fake_es.alert("cpu", "h2")
    assert h2["kibana.alert.evaluation.value"] == "0.945" and h2["kibana.alert.evaluation.threshold"] == 0.9
    assert h2["kibana.alert.evaluation.conditions"] == "avg(system.cpu.total.norm.pct) is greater than 0.9"
    assert h2["kibana.alert.url"] == f"/app/observability/alerts/{h2['kibana.alert.uuid']}"
    assert "kibana.alert.case_ids" not in h2 and h2["kibana.alert.flapping"] is False
    assert not any(k.startswith("kibana.alert.evaluation") for k in fake_es.alert("other", "o2"))
