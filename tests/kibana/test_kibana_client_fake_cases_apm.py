"""Every Cases and APM method of the client against the fake Kibana over real HTTP."""

from __future__ import annotations

import json

import pytest

from bot.kibana import CaseCreate, KibanaBadRequest, KibanaClient, KibanaNotFound
from devkit.fake_kibana import FakeKibana

SOURCE_MAP = json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA"}).encode()


async def test_create_get_and_comment_on_a_case(fake: FakeKibana, kibana: KibanaClient) -> None:
    created = await kibana.create_case(
        CaseCreate(title="Disk full on db-1", description="From Slack", tags=["slack", "dedup:abc"], severity="high"),
        space="ops",
    )

    assert (created.title, created.severity, created.status, created.owner) == (
        "Disk full on db-1",
        "high",
        "open",
        "cases",
    )
    assert fake.case(created.id, space="ops")["tags"] == ["slack", "dedup:abc"]

    fetched = await kibana.get_case(created.id, space="ops")
    assert (fetched.id, fetched.version) == (created.id, created.version)

    commented = await kibana.add_case_comment(created.id, "Rolled back the deploy", owner="cases", space="ops")
    assert [c.comment for c in commented.comments] == ["Rolled back the deploy"]
    assert commented.total_comment == 1
    assert commented.version != created.version  # a comment rewrites the case


async def test_unknown_case(kibana: KibanaClient) -> None:
    with pytest.raises(KibanaNotFound, match=r"Saved object \[cases/nope\] not found"):
        await kibana.get_case("nope")
    with pytest.raises(KibanaNotFound):
        await kibana.add_case_comment("nope", "hello", owner="cases")


async def test_find_cases_by_tag(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.add_case(title="one", tags=["slack", "dedup:1"])
    fake.add_case(title="two", tags=["slack", "dedup:2"])
    fake.add_case(title="elsewhere", tags=["dedup:1"], space="ops")

    found = await kibana.find_cases(tags=["dedup:1"])
    everything = await kibana.find_cases(owner="cases", per_page=1)

    assert [c.title for c in found.cases] == ["one"]
    assert (everything.total, len(everything.cases), everything.count_open_cases) == (2, 1, 2)


async def test_agent_configurations(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.add_agent_configuration(service_name="checkout", environment="prod", settings={"capture_body": "off"})

    await kibana.put_agent_configuration("frontend", None, {"transaction_sample_rate": "0.4"})
    with pytest.raises(KibanaBadRequest, match="A configuration already exists"):
        await kibana.put_agent_configuration("frontend", None, {"transaction_sample_rate": "0.5"})
    await kibana.put_agent_configuration("frontend", None, {"transaction_sample_rate": "0.5"}, overwrite=True)

    configurations = await kibana.list_agent_configurations()
    by_service = {(c.service.name, c.service.environment): c.settings for c in configurations}
    assert by_service == {
        ("checkout", "prod"): {"capture_body": "off"},
        ("frontend", None): {"transaction_sample_rate": "0.5"},
    }
    assert all(r.headers.get("elastic-api-version") == "2023-10-31" for r in fake.requests)


async def test_create_agent_key(fake: FakeKibana, kibana: KibanaClient) -> None:
    key = await kibana.create_agent_key("rum-key", ["event:write"], basic_auth=("elastic", "changeme"))

    stored = fake.agent_keys[-1]
    assert (key.name, key.id, stored["privileges"]) == ("rum-key", stored["id"], ["event:write"])
    assert key.encoded.get_secret_value() == stored["encoded"]
    assert stored["encoded"] not in repr(key)


async def test_source_maps(fake: FakeKibana, kibana: KibanaClient) -> None:
    uploaded = await kibana.upload_sourcemap(
        service_name="web", service_version="2.1.0", bundle_filepath="/static/main.js", sourcemap=SOURCE_MAP
    )
    fake.add_sourcemap(service_name="admin")

    assert uploaded.identifier == "web-2.1.0" and uploaded.id.startswith("apm:web-2.1.0-")
    page = await kibana.list_sourcemaps()
    assert page.total == 2
    web = next(a for a in page.artifacts if a.id == uploaded.id)
    assert (web.service_name, web.service_version, web.bundle_filepath) == ("web", "2.1.0", "/static/main.js")

    first_page = await kibana.list_sourcemaps(page=1, per_page=1)
    assert (first_page.total, len(first_page.artifacts)) == (2, 1)

    await kibana.delete_sourcemap(uploaded.id)
    assert [a["id"] for a in fake.sourcemaps] == [a.id for a in page.artifacts if a.id != uploaded.id]


async def test_invalid_source_map_is_a_bad_request(kibana: KibanaClient) -> None:
    with pytest.raises(KibanaBadRequest) as caught:
        await kibana.upload_sourcemap(
            service_name="web", service_version="1", bundle_filepath="/a.js", sourcemap=b'{"version": "3"}'
        )
    assert caught.value.attributes == {"data": None, "_inspect": []}
