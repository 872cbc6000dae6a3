"""The demo page's API without a browser: every action reaches the real bot as a Slack
request, and what the bot does comes back in `/api/state`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.demo import Demo, running_demo
from devkit.demo.conversation import MESSAGE_SHORTCUTS
from devkit.fake_kibana import FakeKibana

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "devkit" / "demo" / "static"


@pytest.fixture
async def client(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.page_url, timeout=10.0) as http:
        yield http


async def state(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/state")
    assert response.status_code == 200
    return dict(response.json())


async def until(client: httpx.AsyncClient, check: Callable[[dict[str, Any]], Any], seconds: float = 8.0) -> Any:
    """Poll /api/state like the page does, until `check` returns something truthy (bounded)."""
    for _ in range(int(seconds / 0.05)):
        found = check(await state(client))
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the page state never satisfied {check}")


async def test_the_page_and_its_assets_are_served_without_any_external_address(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = sorted(p.name for p in STATIC.iterdir())
    assert {"index.html", "app.js", "style.css"} <= set(assets)
    for name in assets:
        response = await client.get(f"/static/{name}")
        assert response.status_code == 200
        assert "https://" not in response.text.replace("https://example.com", "")  # no CDN: works offline
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):  # every script and stylesheet is the page's own
        assert src.startswith("/static/") and (STATIC / src.removeprefix("/static/")).is_file()


async def test_a_command_is_a_signed_slash_command_and_its_reply_is_ephemeral(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    response = await client.post("/api/command", json={"text": "rules cpu"})
    assert response.json() == {"ok": True}
    reply = await until(client, lambda s: [e for e in s["ephemerals"] if "High CPU on web hosts" in json.dumps(e)])
    assert reply[0]["user"] == "U0ALICE" and reply[0]["channel"] == "C0ALERTS"
    assert demo.kibana is not None and demo.kibana.count("GET", "/api/alerting/rules/_find") == 1


async def test_a_wrongly_signed_page_cannot_reach_the_bot(demo: Demo) -> None:
    payload = demo.page.driver.slash_command("health")
    response = await demo.page.driver.post(payload, signing_secret="not-the-secret")
    assert response.status_code == 401


async def test_buttons_on_an_ephemeral_message_replace_it(client: httpx.AsyncClient, demo: Demo) -> None:
    await client.post("/api/command", json={"text": "rule error-logs"})  # a disabled rule: its card has Enable
    card = await until(client, lambda s: next((e for e in s["ephemerals"] if e.get("blocks")), None))
    elements = [(b["block_id"], e) for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert elements, "the rule card has buttons"
    block_id, enable = next((b, e) for b, e in elements if e["action_id"] == "rule_enable")
    response = await client.post(
        "/api/action",
        json={
            "ts": card["ts"],
            "ephemeral": True,
            "block_id": block_id,
            "action_id": "rule_enable",
            "value": enable["value"],
        },
    )
    assert response.json() == {"ok": True}
    assert demo.kibana is not None
    await until(client, lambda s: demo.kibana.count("POST", "/api/alerting/rule/{id}/_enable") == 1)  # type: ignore[union-attr]
    after = await until(client, lambda s: s if any("enabled rule" in m["text"] for m in s["messages"]) else None)
    # Slack's client swaps the card for its replacement (response_url, replace_original).
    assert card["ts"] not in [e["ts"] for e in after["ephemerals"]]
    [new_card] = [e for e in after["ephemerals"] if e.get("blocks")]
    assert "rule_disable" in json.dumps(new_card["blocks"]) and "rule_enable" not in json.dumps(new_card["blocks"])


async def test_a_modal_submission_shows_the_bots_errors_then_closes(client: httpx.AsyncClient) -> None:
    await client.post("/api/command", json={"text": "case Disk full on db-01"})
    view = await until(client, lambda s: s["view"])
    assert view["callback_id"] == "case_create_modal"
    first = await client.post(f"/api/views/{view['id']}/submit", json={"values": {"title": {"title": None}}})
    assert first.json()["errors"] == {"title": "Give the case a title."}
    assert (await state(client))["view"]["id"] == view["id"]  # still open

    second = await client.post(f"/api/views/{view['id']}/submit", json={"values": {"title": {"title": "Disk full"}}})
    assert second.json() == {"ok": True, "errors": {}}
    assert (await state(client))["view"] is None


async def test_closing_a_modal_closes_it(client: httpx.AsyncClient) -> None:
    await client.post("/api/command", json={"text": "case"})
    view = await until(client, lambda s: s["view"])
    assert (await client.post(f"/api/views/{view['id']}/close", json={})).json() == {"ok": True}
    assert (await state(client))["view"] is None
    assert (await client.post(f"/api/views/{view['id']}/submit", json={"values": {}})).status_code == 404


async def test_a_file_input_uploads_through_the_fake_slack(client: httpx.AsyncClient, demo: Demo) -> None:
    await client.post("/api/command", json={"text": "apm sourcemaps upload"})
    view = await until(client, lambda s: s["view"])
    [file_block] = [b for b in view["blocks"] if b["type"] == "input" and b["element"]["type"] == "file_input"]
    source_map = json.dumps({"version": 3, "file": "main.js", "sources": ["a.js"], "names": [], "mappings": "AAAA"})
    uploaded = await client.post("/api/files", files={"file": ("main.js.map", source_map.encode(), "application/json")})
    file_id = uploaded.json()["file"]["id"]
    assert demo.slack.files[file_id].content == source_map.encode()

    values: dict[str, Any] = {file_block["block_id"]: {file_block["element"]["action_id"]: [file_id]}}
    for block in view["blocks"]:
        if block["type"] == "input" and block["element"]["type"] == "plain_text_input":
            values[block["block_id"]] = {block["element"]["action_id"]: "x"}
    answer = (await client.post(f"/api/views/{view['id']}/submit", json={"values": values})).json()
    assert answer["ok"] is True
    # The bot downloaded the file with its token: the upload reached it as a real file_input would.
    assert any(d["file"] == file_id and d["authorized"] for d in demo.slack.downloads)


async def test_the_message_shortcuts_are_the_apps_own(demo: Demo) -> None:
    manifest = json.loads((REPO / "manifest.json").read_text())
    declared = [
        {"callback_id": s["callback_id"], "name": s["name"]}
        for s in manifest["features"]["shortcuts"]
        if s["type"] == "message"
    ]
    assert declared == MESSAGE_SHORTCUTS


async def test_sample_alerts_cycle_through_the_seeded_rules(client: httpx.AsyncClient, demo: Demo) -> None:
    sent = [(await client.post("/api/sample-alert")).json() for _ in range(3)]
    assert [(s["rule_id"], s["alert_id"]) for s in sent] == [
        ("cpu-high", "web-01"),
        ("cpu-high", "web-02"),
        ("payments-errors", "payments-api"),
    ]

    def grouped(now: dict[str, Any]) -> list[dict[str, Any]] | None:  # the group's update is debounced
        messages: list[dict[str, Any]] = now["messages"]
        updated = any("2 firing" in m["text"] for m in messages)
        logged = any(m.get("thread_ts") not in (None, m["ts"]) for m in messages)
        return messages if updated and logged else None

    messages = await until(client, grouped)
    top = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
    assert len(top) == 2 and all(m.get("blocks") for m in top)  # cpu-high's two alerts are one group message
    assert [m["text"] for m in messages if m not in top] == [":rotating_light: 1 firing: `web-02`"]  # its thread log


async def test_with_a_real_kibana_url_the_credentials_come_from_the_environment() -> None:
    async with FakeKibana(api_keys=("real-key",)) as real:  # stands in for a real Kibana: not seeded by the demo
        real.add_rule(id="svc-down", name="Service down", tags=["prod"])
        env = {"KIBANA_API_KEY": "real-key"}
        async with (
            running_demo(kibana_url=real.url, env=env) as demo,
            httpx.AsyncClient(base_url=demo.page_url, timeout=10.0) as client,
        ):
            assert demo.kibana is None
            answer = (await client.post("/api/sample-alert")).json()
            assert answer == {"ok": True, "rule_id": "svc-down", "alert_id": "demo-host-1"}
            await client.post("/api/command", json={"text": "health"})
            await until(client, lambda s: [e for e in s["ephemerals"] if "alerting health" in e["text"]])
            assert all(r.headers.get("authorization") == "ApiKey real-key" for r in real.requests)
            assert (await state(client))["kibana"] == f"the Kibana at {real.url}"


async def test_with_alerts_as_data_alerts_arrive_by_polling_with_no_webhook() -> None:
    """`python -m devkit.demo` (the fake Kibana): its rules write their alerts to a fake Elasticsearch,
    and the demo channel, subscribed to them all, gets them by polling."""
    from datetime import UTC, datetime, timedelta

    from devkit.demo.conversation import DEMO_CHANNEL
    from handlers.alerts.polling import AlertPoller

    async with running_demo(port=0, alerts_as_data=True) as demo:
        poller = demo.bot.runtime.part(AlertPoller)
        poller.paused = True  # this test ticks it
        assert demo.elasticsearch is not None and demo.kibana is not None
        demo.elasticsearch.alerts_from(demo.kibana)  # a rule run
        polls = await poller.tick(datetime.now(UTC) + timedelta(minutes=1))
        active = sum(
            len(rule.active_alerts) for rule in demo.kibana.rules.values() if rule.enabled and rule.space == "default"
        )
        firing = [rule for rule in demo.kibana.rules.values() if rule.enabled and rule.active_alerts]
        assert active and polls["default"].handed_on == active
        # The publisher shows them: one message per rule (its alerts grouped), with buttons.
        await demo.slack.wait_for(
            lambda: (
                len([m for m in demo.slack.channel_messages(DEMO_CHANNEL) if m.get("blocks")])
                >= len([r for r in firing if r.space == "default"])
            ),
            timeout=10,
        )


async def test_the_add_to_case_form_searches_cases_as_the_user_types(client: httpx.AsyncClient, demo: Demo) -> None:
    ts = (await client.post("/api/message", json={"text": "web-01 is at 99% CPU again"})).json()["ts"]
    assert (await client.post("/api/shortcut", json={"ts": ts, "callback_id": "add_to_case"})).json() == {"ok": True}
    view = await until(client, lambda s: s["view"] if s["view"] and s["view"].get("submit") else None)
    assert view["callback_id"] == "case_add_message_modal"
    found = await client.post(f"/api/views/{view['id']}/suggest", json={"action_id": "case_pick", "value": "cpu"})
    [option] = found.json()["options"]
    assert option["text"]["text"] == "Web hosts saturating CPU"  # the demo Kibana's seeded case
    answer = await client.post(
        f"/api/views/{view['id']}/submit", json={"values": {"case_pick": {"case_pick": option["value"]}}}
    )
    assert answer.json() == {"ok": True, "errors": {}}
    reply = await until(client, lambda s: [m for m in s["messages"] if m.get("thread_ts") == ts and m["ts"] != ts])
    assert "added this message to Kibana case" in reply[0]["text"]
    missing = await client.post(f"/api/views/{view['id']}/suggest", json={"action_id": "nope", "value": ""})
    assert missing.status_code == 404  # the modal closed
