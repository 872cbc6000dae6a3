"""Fake Kibana: `POST /api/detection_engine/signals/status` as Kibana's Security solution serves it — on
every licence and every 8.x and 9.x, authorized by the Security alerts privilege before the body is read,
validated as SetAlertsStatus, by ids of the space's alerts (unknown ids change nothing), answered with
Elasticsearch's update-by-query counts."""

from __future__ import annotations

import base64

import httpx
import pytest

from devkit.fake_kibana import FakeKibana

SIGNALS = "/api/detection_engine/signals/status"
HEADERS = {"Authorization": "ApiKey test-api-key", "kbn-xsrf": "true"}
ALICE = base64.b64encode(b"alice-key-id:alice-secret").decode()


@pytest.mark.parametrize(
    ("version", "licence"), [("8.15.0", "basic"), ("8.19.2", "gold"), ("9.1.0", "basic"), ("9.5.0", "platinum")]
)
async def test_every_version_and_licence_acknowledges_by_id(version: str, licence: str) -> None:
    async with FakeKibana(api_keys=("test-api-key",), version=version, license=licence) as fake:
        fake.state.security_alerts[("ops", "sig-1")] = "open"
        fake.state.security_alerts[("default", "sig-1")] = "open"
        async with httpx.AsyncClient(base_url=fake.url, headers=HEADERS) as kibana:
            body = {"signal_ids": ["sig-1", "not-an-alert"], "status": "acknowledged"}
            first = await kibana.post(f"/s/ops{SIGNALS}", json=body)
            assert first.status_code == 200, first.text
            assert (first.json()["updated"], first.json()["noops"], first.json()["total"]) == (1, 0, 1)
            again = await kibana.post(f"/s/ops{SIGNALS}", json=body)
            assert (again.json()["updated"], again.json()["noops"]) == (0, 1)  # the same status twice: a no-op
        assert fake.state.security_alerts == {("ops", "sig-1"): "acknowledged", ("default", "sig-1"): "open"}


async def test_kibana_checks_the_body_as_set_alerts_status(fake_kibana: FakeKibana) -> None:
    async with httpx.AsyncClient(base_url=fake_kibana.url, headers=HEADERS) as kibana:
        for body, said in [
            ({"signal_ids": ["a"], "status": "snoozed"}, "status: Invalid enum value"),
            ({"signal_ids": [], "status": "open"}, "signal_ids"),
            ({"signal_ids": ["a"], "status": "closed", "reason": "bored"}, "reason: Invalid enum value"),
            (
                {"signal_ids": ["a"], "status": "open", "extra": 1},
                "[request body.extra]: definition for this key is missing",
            ),
        ]:
            answer = await kibana.post(SIGNALS, json=body)
            assert answer.status_code == 400 and said in answer.json()["message"], answer.text


async def test_without_the_security_alerts_privilege_kibana_answers_403_before_reading_the_body(
    fake_kibana: FakeKibana,
) -> None:
    fake_kibana.add_person(ALICE, "alice", {"default": {"rules": "all"}})
    headers = {"Authorization": f"ApiKey {ALICE}", "kbn-xsrf": "true"}
    async with httpx.AsyncClient(base_url=fake_kibana.url, headers=headers) as alice:
        refused = await alice.post(SIGNALS, json={"status": "nonsense"})
        assert refused.status_code == 403
        assert "[alerts_api_all]" in refused.json()["message"]
    fake_kibana.add_person(ALICE, "alice", {"default": {"security": "all"}})
    async with httpx.AsyncClient(base_url=fake_kibana.url, headers=headers) as alice:
        assert (await alice.post(SIGNALS, json={"signal_ids": ["a"], "status": "acknowledged"})).status_code == 200
