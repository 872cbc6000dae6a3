"""Fake Kibana: a case's user actions, recorded as Kibana records them (who did each), and
`GET /api/cases/{caseId}/user_actions/_find` with its paging, order, type filter and validation."""

from __future__ import annotations

import httpx

from devkit.fake_kibana import FakeKibana

from .test_fake_kibana_cases import new_case

ACTIVITY = "/api/cases/{}/user_actions/_find"


async def test_each_change_is_one_user_action_naming_who_did_it(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.users["carol"] = "pw"
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    commented = await kibana_http.post(
        f"/api/cases/{case['id']}/comments", json={"type": "user", "comment": "on it", "owner": "cases"}
    )
    version = commented.json()["version"]
    async with httpx.AsyncClient(base_url=fake_kibana.url, auth=("carol", "pw"), headers={"kbn-xsrf": "t"}) as carol:
        changes = {"status": "closed", "severity": "low", "tags": ["slack", "db"], "assignees": [{"uid": "u_carol"}]}
        assert (
            await carol.patch("/api/cases", json={"cases": [{"id": case["id"], "version": version, **changes}]})
        ).status_code == 200

    found = (await kibana_http.get(ACTIVITY.format(case["id"]), params={"sortOrder": "asc", "perPage": 100})).json()
    seen = [(a["type"], a["action"], a["created_by"]["username"]) for a in found["userActions"]]
    assert seen[:2] == [("create_case", "create", "elastic"), ("comment", "create", "elastic")]
    assert sorted(seen[2:]) == [  # one PATCH: one user action per field changed (tags: what was added, removed)
        ("assignees", "add", "carol"),
        ("severity", "update", "carol"),
        ("status", "update", "carol"),
        ("tags", "add", "carol"),
        ("tags", "delete", "carol"),
    ]
    actions = found["userActions"]
    assert actions[1]["comment_id"] == commented.json()["comments"][0]["id"]
    assert actions[1]["payload"] == {"comment": {"type": "user", "comment": "on it", "owner": "cases"}}
    payloads = {(a["type"], a["action"]): a["payload"] for a in actions[2:]}
    assert payloads[("status", "update")] == {"status": "closed"}
    assert payloads[("tags", "add")] == {"tags": ["db"]} and payloads[("tags", "delete")] == {"tags": ["dedup:abc"]}
    assert payloads[("assignees", "add")] == {"assignees": [{"uid": "u_carol"}]}
    assert all(a["comment_id"] is None for a in actions[2:])
    assert found["total"] == 7 and found["page"] == 1 and found["perPage"] == 100
    assert all(a["owner"] == "cases" and a["version"] and a["id"] for a in actions)


async def test_paging_order_and_types(kibana_http: httpx.AsyncClient) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    for n in range(3):
        await kibana_http.post(
            f"/api/cases/{case['id']}/comments", json={"type": "user", "comment": f"c{n}", "owner": "cases"}
        )
    url = ACTIVITY.format(case["id"])
    newest = (await kibana_http.get(url)).json()  # Kibana's default: newest first, 20 a page
    assert newest["perPage"] == 20 and newest["userActions"][0]["payload"]["comment"]["comment"] == "c2"
    second = (await kibana_http.get(url, params={"sortOrder": "asc", "perPage": 2, "page": 2})).json()
    assert [a["payload"]["comment"]["comment"] for a in second["userActions"]] == ["c1", "c2"]
    assert second["total"] == 4
    only = (await kibana_http.get(url, params=[("types", "comment"), ("types", "status")])).json()
    assert only["total"] == 3 and {a["type"] for a in only["userActions"]} == {"comment"}


async def test_validation_and_a_missing_case(kibana_http: httpx.AsyncClient) -> None:
    case = (await kibana_http.post("/api/cases", json=new_case())).json()
    url = ACTIVITY.format(case["id"])
    for params in ({"perPage": 101}, {"page": 0}, {"sortOrder": "up"}, {"types": "nope"}, {"what": 1},
                   {"page": 101, "perPage": 100}):  # fmt: skip
        answer = await kibana_http.get(url, params=params)
        assert answer.status_code == 400, params
        assert answer.json()["error"] == "Bad Request"
    missing = await kibana_http.get(ACTIVITY.format("nope"))
    assert missing.status_code == 404 and missing.json()["message"] == "Saved object [cases/nope] not found"
