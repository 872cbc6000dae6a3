"""Fake Kibana: Cases create/get/find/comment and PATCH version rules (behaviours.md §7, §9)."""

from __future__ import annotations

from typing import Any

import httpx

from devkit.fake_kibana import FakeKibana


def new_case(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Checkout is down",
        "description": "Opened from Slack",
        "tags": ["slack", "dedup:abc"],
        "owner": "cases",
        "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
        "settings": {"syncAlerts": False},
        "severity": "high",
    }
    body.update(overrides)
    return body


async def test_create_returns_200_and_the_full_case(kibana_http: httpx.AsyncClient) -> None:
    response = await kibana_http.post("/api/cases", json=new_case())
    assert response.status_code == 200
    case = response.json()
    assert case["title"] == "Checkout is down" and case["status"] == "open" and case["severity"] == "high"
    assert case["comments"] == [] and case["totalComment"] == 0 and case["version"]
    assert case["created_by"] == {"username": "elastic", "full_name": None, "email": None}
    fetched = await kibana_http.get(f"/api/cases/{case['id']}")
    assert fetched.json()["version"] == case["version"]


async def test_create_validation(kibana_http: httpx.AsyncClient) -> None:
    bad_bodies = [
        new_case(title="x" * 161),
        new_case(description="x" * 30001),
        new_case(tags=["t"] * 201),
        new_case(tags=["x" * 257]),
        new_case(owner="nobody"),
        new_case(severity="urgent"),
        new_case(settings={}),
        new_case(unexpected=True),
        {k: v for k, v in new_case().items() if k != "connector"},
    ]
    for body in bad_bodies:
        response = await kibana_http.post("/api/cases", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Bad Request"
    assert (await kibana_http.post("/api/cases", json=new_case(title="x" * 160))).status_code == 200


async def test_unknown_case_is_404(kibana_http: httpx.AsyncClient) -> None:
    response = await kibana_http.get("/api/cases/nope")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "Saved object [cases/nope] not found",
    }
    comment = await kibana_http.post(
        "/api/cases/nope/comments", json={"type": "user", "comment": "hi", "owner": "cases"}
    )
    assert comment.status_code == 404


async def test_comment_bumps_the_version_so_an_old_version_conflicts(kibana_http: httpx.AsyncClient) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    commented = await kibana_http.post(
        f"/api/cases/{case['id']}/comments", json={"type": "user", "comment": "Link: x", "owner": "cases"}
    )
    assert commented.status_code == 200
    after = commented.json()
    assert after["version"] != case["version"]
    assert after["totalComment"] == 1 and after["comments"][0]["comment"] == "Link: x"
    assert after["updated_by"]["username"] == "elastic"
    stale = await kibana_http.patch(
        "/api/cases", json={"cases": [{"id": case["id"], "version": case["version"], "status": "closed"}]}
    )
    assert stale.status_code == 409
    assert stale.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": f"These cases {case['id']} have been updated. Please refresh before saving additional updates.",
    }
    fresh = await kibana_http.patch(
        "/api/cases", json={"cases": [{"id": case["id"], "version": after["version"], "status": "closed"}]}
    )
    assert fresh.status_code == 200
    closed = fresh.json()[0]
    assert closed["status"] == "closed" and closed["closed_at"] and closed["version"] != after["version"]
    assert isinstance(closed["duration"], int)


async def test_patch_404_406_and_owner_rules(kibana_http: httpx.AsyncClient) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    missing = await kibana_http.patch("/api/cases", json={"cases": [{"id": "ghost", "version": "x", "title": "t"}]})
    assert missing.status_code == 404
    assert missing.json()["message"] == "These cases ghost do not exist. Please check you have the correct ids."
    same = await kibana_http.patch(
        "/api/cases", json={"cases": [{"id": case["id"], "version": case["version"], "title": case["title"]}]}
    )
    assert same.status_code == 406
    assert same.json()["message"] == "All update fields are identical to current version."
    owner = await kibana_http.patch(
        "/api/cases", json={"cases": [{"id": case["id"], "version": case["version"], "owner": "observability"}]}
    )
    assert owner.status_code == 400
    no_version = await kibana_http.patch("/api/cases", json={"cases": [{"id": case["id"], "status": "closed"}]})
    assert no_version.status_code == 400


async def test_find_by_tag_search_and_counts(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    await kibana_http.post("/api/cases", json=new_case(tags=["dedup:1"], title="Checkout down"))
    await kibana_http.post("/api/cases", json=new_case(tags=["dedup:2"], title="Disk full"))
    fake_kibana.add_case(title="Old incident", status="closed", tags=["dedup:3"])
    await kibana_http.post("/s/ops/api/cases", json=new_case(tags=["dedup:1"]))
    by_tag = (await kibana_http.get("/api/cases/_find", params={"tags": "dedup:1"})).json()
    assert by_tag["total"] == 1 and by_tag["cases"][0]["title"] == "Checkout down"
    assert by_tag["count_open_cases"] == 1 and by_tag["page"] == 1 and by_tag["per_page"] == 20
    everything = (await kibana_http.get("/api/cases/_find")).json()
    assert everything["total"] == 3
    assert (everything["count_open_cases"], everything["count_closed_cases"]) == (2, 1)
    found = (await kibana_http.get("/api/cases/_find", params={"search": "disk"})).json()
    assert [c["title"] for c in found["cases"]] == ["Disk full"]
    unknown = await kibana_http.get("/api/cases/_find", params={"zzz": "1"})
    assert unknown.status_code == 400


async def test_forbidden_case_creation(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.forbid("createCase")
    response = await kibana_http.post("/api/cases", json=new_case(owner="observability"))
    assert response.status_code == 403
    assert response.json()["message"] == 'Unauthorized to create case with owners: "observability"'
    assert fake_kibana.cases == {}


INDEX = ".internal.alerts-stack.alerts-default-000001"


def alerts(*ids: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "alert",
        "alertId": list(ids),
        "index": [INDEX] * len(ids),
        "rule": {"id": "r1", "name": "CPU high"},
        "owner": "cases",
    }
    body.update(overrides)
    return body


async def test_alert_attachments_are_validated_as_kibana_does(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    path = f"/api/cases/{case['id']}/comments"
    mismatch = await kibana_http.post(path, json=alerts("a-1", "a-2", index=[INDEX]))
    assert mismatch.status_code == 400  # decodeCommentRequest: one index per alert id
    assert mismatch.json()["message"].startswith("Received an alert comment with ids and indices arrays")
    for bad in (alerts("a-1", rule=[{"id": "r1"}, {"id": "r2"}]), alerts("a-1", rule={"id": "r1"}),
                alerts("a-1", rule={"id": "r1", "name": "x", "type": "y"}), alerts("a-1", owner="other")):  # fmt: skip
        answer = await kibana_http.post(path, json=bad)
        assert (answer.status_code, answer.json()["error"]) == (400, "Bad Request"), bad
    other_owner = await kibana_http.post(path, json=alerts("a-1", owner="observability"))
    assert other_owner.status_code == 400
    assert fake_kibana.case(case["id"])["comments"] == []

    first = await kibana_http.post(path, json=alerts("a-1", "a-2"))
    assert first.status_code == 200 and first.json()["totalAlerts"] == 2
    again = await kibana_http.post(path, json=alerts("a-2", "a-3"))  # a-2 is attached already: dropped
    assert again.json()["totalAlerts"] == 3
    assert [c["alertId"] for c in again.json()["comments"]] == [["a-1", "a-2"], ["a-3"]]
    same = await kibana_http.post(path, json=alerts("a-1"))
    assert same.status_code == 200 and same.json()["version"] == again.json()["version"]  # nothing written


async def test_a_case_holds_at_most_1000_alerts_and_a_closed_one_none(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    path = f"/api/cases/{case['id']}/comments"
    assert (await kibana_http.post(path, json=alerts(*[f"a-{n}" for n in range(999)]))).status_code == 200
    over = await kibana_http.post(path, json=alerts("b-1", "b-2"))
    assert over.status_code == 400
    assert over.json()["message"] == "Case has reached the maximum allowed number (1000) of attached alerts."
    assert (await kibana_http.post(path, json=alerts("b-1"))).json()["totalAlerts"] == 1000
    closed = fake_kibana.add_case(title="Done", status="closed")
    refused = await kibana_http.post(f"/api/cases/{closed['id']}/comments", json=alerts("a-1"))
    assert (refused.status_code, refused.json()["message"]) == (400, "Alert cannot be attached to a closed case")
    user = await kibana_http.post(
        f"/api/cases/{closed['id']}/comments", json={"type": "user", "comment": "still", "owner": "cases"}
    )
    assert user.status_code == 200  # a user comment on a closed case is fine


async def test_find_open_cases_by_title_owner_and_space(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_case(title="Database latency")
    fake_kibana.add_case(title="Database maintenance", status="closed")
    fake_kibana.add_case(title="Database breach", owner="securitySolution")
    fake_kibana.add_case(title="Database in ops", space="ops")
    fake_kibana.add_case(title="Printer", description="the database printer")
    query = {"search": "database", "searchFields": "title", "status": "open", "owner": "cases"}
    found = (await kibana_http.get("/api/cases/_find", params=query)).json()
    assert [c["title"] for c in found["cases"]] == ["Database latency"]
    both = {**query, "searchFields": ["title", "description"]}
    found = (await kibana_http.get("/api/cases/_find", params=both)).json()
    assert sorted(c["title"] for c in found["cases"]) == ["Database latency", "Printer"]
    prefix = (await kibana_http.get("/api/cases/_find", params={**query, "search": "datab*"})).json()
    assert [c["title"] for c in prefix["cases"]] == ["Database latency"]  # simple_query_string's prefix
    assert (await kibana_http.get("/api/cases/_find", params={**query, "search": "datab"})).json()["total"] == 0
    in_ops = (await kibana_http.get("/s/ops/api/cases/_find", params=query)).json()
    assert [c["title"] for c in in_ops["cases"]] == ["Database in ops"]
    assert (await kibana_http.get("/api/cases/_find", params={"status": "gone"})).status_code == 400


async def test_a_case_records_at_most_10000_user_actions(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    case = fake_kibana.add_case(title="Busy")
    stored = fake_kibana.case(case["id"])
    stored["comments"] = [{"type": "user", "comment": "c", "owner": "cases"}] * 9998  # with its creation: 9,999
    path = f"/api/cases/{case['id']}/comments"
    assert (await kibana_http.post(path, json={"type": "user", "comment": "last", "owner": "cases"})).status_code == 200
    full = await kibana_http.post(path, json={"type": "user", "comment": "one more", "owner": "cases"})
    assert full.status_code == 400
    assert full.json()["message"] == f"The case with id {case['id']} has reached the limit of 10000 user actions."
