"""Fake Kibana: people's own API keys, their feature privileges per space, created_by from the key's
owner, and keys revoked at any time (issue 26)."""

from __future__ import annotations

import base64

import httpx

from devkit.fake_kibana import FakeKibana
from tests.devkit.test_fake_kibana_cases import new_case

ALICE = base64.b64encode(b"alice-key-id:alice-secret").decode()
BOB = base64.b64encode(b"bob-key-id:bob-secret").decode()


def _as(fake: FakeKibana, key: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"ApiKey {key}", "kbn-xsrf": "true"}
    return httpx.AsyncClient(base_url=fake.url, headers=headers, timeout=10)


async def test_a_case_names_the_owner_of_the_key_that_opened_it(fake_kibana: FakeKibana) -> None:
    fake_kibana.add_person(ALICE, "alice", {"default": {"cases": "all"}})
    async with _as(fake_kibana, ALICE) as alice:
        created = (await alice.post("/api/cases", json=new_case())).json()
        assert created["created_by"]["username"] == "alice"
        patched = await alice.patch(
            "/api/cases", json={"cases": [{"id": created["id"], "version": created["version"], "status": "closed"}]}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()[0]["updated_by"]["username"] == "alice"


async def test_a_missing_privilege_is_kibanas_own_403(fake_kibana: FakeKibana) -> None:
    fake_kibana.add_rule(id="r1", space="ops", active_alerts=["host-1"])
    rule = fake_kibana.state.rule("ops", "r1")
    assert rule is not None
    fake_kibana.add_person(ALICE, "alice", {"ops": {"rules": "read"}})
    async with _as(fake_kibana, ALICE) as alice:
        assert (await alice.get("/s/ops/api/alerting/rule/r1")).status_code == 200
        muted = await alice.post("/s/ops/api/alerting/rule/r1/alert/host-1/_mute")
        assert muted.status_code == 403
        assert muted.json() == {
            "statusCode": 403,
            "error": "Forbidden",
            "message": f'Unauthorized by "{rule.consumer}" to muteAlert "{rule.rule_type_id}" rule',
        }
        # no privilege at all in another space
        assert (await alice.post("/api/cases", json=new_case())).json()["message"] == (
            'Unauthorized to create case with owners: "cases"'
        )
        fake_kibana.grant(ALICE, "ops", "rules", "all")
        assert (await alice.post("/s/ops/api/alerting/rule/r1/alert/host-1/_mute")).status_code == 204
    assert rule.muted_alert_ids == ["host-1"]


async def test_each_person_has_their_own_privileges_and_the_bot_keeps_all(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1")
    fake_kibana.add_person(ALICE, "alice", {"*": {"rules": "all"}})
    fake_kibana.add_person(BOB, "bob", {"default": {"cases": "read"}})
    async with _as(fake_kibana, ALICE) as alice, _as(fake_kibana, BOB) as bob:
        assert (await alice.post("/api/alerting/rule/r1/_disable")).status_code == 204
        assert (await bob.post("/api/alerting/rule/r1/_enable")).status_code == 403
        assert (await bob.get("/api/cases/_find")).status_code == 200
    assert (await kibana_http.post("/api/alerting/rule/r1/_enable")).status_code == 204


async def test_a_revoked_key_is_refused_at_once(fake_kibana: FakeKibana) -> None:
    fake_kibana.add_person(ALICE, "alice", {"*": {"rules": "read"}})
    async with _as(fake_kibana, ALICE) as alice:
        assert (await alice.get("/api/status")).status_code == 200
        fake_kibana.revoke(ALICE)
        refused = await alice.get("/api/status")
        assert refused.status_code == 401
        assert "unable to authenticate with provided credentials" in refused.json()["message"]
