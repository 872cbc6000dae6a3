"""Source maps over real signed HTTP: list with Delete buttons, delete, and the upload modal with
the file downloaded from the fake Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.pipeline import parse_form
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.apm import sourcemap_upload as apm_sourcemap_upload

from .apm_contract import kibana_calls_follow_the_contract  # noqa: F401 - autouse: every APM call checked against the contract

SOURCEMAPS = "/api/apm/sourcemaps"
DELETE_ROUTE = "/api/apm/sourcemaps/{id}"
MIB = 1024 * 1024
VALID_MAP = {"version": 3, "file": "main.js", "sources": ["src/index.ts"], "names": [], "mappings": "AAAA;AACA"}


async def run(driver: SlackDriver, slack: FakeSlack, text: str, *, count: int = 1, **kw: Any) -> list[dict[str, Any]]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, **kw))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + count)
    return [r.body for r in slack.responses[before:]]


def delete_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b["accessory"] for b in blocks if b.get("accessory", {}).get("action_id") == "apm_sourcemap_delete"]


# --- list and delete ---------------------------------------------------------------------------


async def test_list_shows_each_map_with_a_confirmed_delete_button(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    first = kibana.add_sourcemap(service_name="frontend", service_version="1.0.0", bundle_filepath="/static/js/a.js")
    second = kibana.add_sourcemap(service_name="checkout-web", service_version="2.3.4", bundle_filepath="/js/b.js")
    [answer] = await run(driver, slack, "apm sourcemaps")
    [sent] = [r for r in kibana.requests if r.route == SOURCEMAPS]
    assert (sent.method, sent.path, sent.query) == ("GET", SOURCEMAPS, {"perPage": "45"})
    assert sent.headers["elastic-api-version"] == "2023-10-31"
    assert answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"])
    for text in ("*frontend* `1.0.0`", "`/static/js/a.js`", "*checkout-web* `2.3.4`", "`/js/b.js`", first["id"]):
        assert text in shown
    buttons = delete_buttons(answer["blocks"])
    assert len(buttons) == 2
    assert all(b["confirm"]["confirm"]["text"] == "Delete" and b["style"] == "danger" for b in buttons)
    assert {json.loads(b["value"])["i"] for b in buttons} == {first["id"], second["id"]}


async def test_delete_button_deletes_and_refreshes_the_list(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    doomed = kibana.add_sourcemap(service_name="frontend", service_version="1.0.0")
    kept = kibana.add_sourcemap(service_name="frontend", service_version="1.1.0")
    await run(driver, slack, "apm sourcemaps")
    listing = slack.ephemerals[-1]
    value = next(b["value"] for b in delete_buttons(listing["blocks"]) if json.loads(b["value"])["i"] == doomed["id"])
    before = len(slack.responses)
    click = driver.block_action("apm_sourcemap_delete", value, message=listing, is_ephemeral=True)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + 2)

    [sent] = [r for r in kibana.requests if r.route == DELETE_ROUTE]
    assert (sent.method, sent.path) == ("DELETE", f"{SOURCEMAPS}/{doomed['id']}")
    assert sent.headers["elastic-api-version"] == "2023-10-31" and "kbn-xsrf" in sent.headers
    assert [a["id"] for a in kibana.sourcemaps] == [kept["id"]]
    refreshed, announced = (r.body for r in slack.responses[before:])
    assert refreshed["replace_original"] is True
    assert doomed["id"] not in json.dumps(delete_buttons(refreshed["blocks"]))
    assert "You deleted source map *frontend 1.0.0*" in json.dumps(refreshed["blocks"])
    assert announced["response_type"] == "in_channel"
    assert announced["text"].startswith("<@U0ALICE> deleted source map *frontend 1.0.0*")
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.target, entry.result) == ("apm sourcemaps delete", doomed["id"], "ok")


async def test_delete_button_rechecks_access(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_sourcemap()
    await run(driver, slack, "apm sourcemaps")
    before = len(slack.responses)
    click = driver.block_action(
        "apm_sourcemap_delete", message=slack.ephemerals[-1], is_ephemeral=True, user_id="U0BOB"
    )
    await driver.post(click)
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "You need the *admin* role" in slack.responses[-1].body["text"]
    assert kibana.count("DELETE", DELETE_ROUTE) == 0 and len(kibana.sourcemaps) == 1


async def test_delete_command_in_a_space(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    artifact = kibana.add_sourcemap()
    [answer] = await run(driver, slack, f"apm sourcemaps delete {artifact['id']} --space ops")
    [sent] = [r for r in kibana.requests if r.route == DELETE_ROUTE]
    assert (sent.method, sent.path) == ("DELETE", f"/s/ops{SOURCEMAPS}/{artifact['id']}")
    assert answer["response_type"] == "in_channel" and artifact["id"] in answer["text"]


async def test_deleting_an_unknown_map_says_so(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    [answer] = await run(driver, slack, "apm sourcemaps delete apm:nope-1.0.0-abc")
    assert answer["response_type"] == "ephemeral"
    assert "could not delete that source map" in answer["text"] and "may already be gone" in answer["text"]


# --- upload ------------------------------------------------------------------------------------


async def open_form(driver: SlackDriver, slack: FakeSlack, *, space: str = "") -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    response = await driver.post(driver.slash_command(f"apm sourcemaps upload {space}".strip()))
    assert response.status_code == 200
    [*_, opened] = await slack.wait_for("views.open", count=before + 1)
    assert opened.ok, opened.response
    return opened.response["view"]


def values(file: dict[str, Any], **fields: str) -> dict[str, dict[str, Any]]:
    given = {"service_name": "frontend", "service_version": "1.4.2", "bundle_filepath": "/static/js/main.js"} | fields
    form: dict[str, dict[str, Any]] = {name: {"value": value} for name, value in given.items()}
    form["file_block"] = {"sourcemap_file": {"type": "file_input", "files": [file]}}
    return form


async def submit(driver: SlackDriver, view: dict[str, Any], form: dict[str, dict[str, Any]]) -> dict[str, Any]:
    response = await driver.post(driver.view_submission(view, form))
    assert response.status_code == 200
    return response.json() if response.content else {}


async def test_upload_form_has_the_fields_and_a_file_input(driver: SlackDriver, slack: FakeSlack) -> None:
    view = await open_form(driver, slack)
    assert view["callback_id"] == "apm_sourcemap_upload"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"service_name", "service_version", "bundle_filepath", "file_block"}
    assert inputs["file_block"] == {
        "type": "file_input",
        "action_id": "sourcemap_file",
        "filetypes": ["map", "json"],
        "max_files": 1,
    }


async def test_valid_upload_is_sent_as_multipart(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    content = json.dumps(VALID_MAP).encode()
    file = slack.add_file("main.js.map", content, "application/json")
    view = await open_form(driver, slack, space="--space ops")
    ack = await submit(driver, view, values(file))
    assert ack["response_action"] == "update"
    await slack.wait_for(lambda: kibana.count("POST", SOURCEMAPS) == 1)

    assert slack.downloads == [{"file": file["id"], "authorized": True}]
    [sent] = [r for r in kibana.requests if r.route == SOURCEMAPS and r.method == "POST"]
    assert sent.path == f"/s/ops{SOURCEMAPS}"
    assert sent.headers["elastic-api-version"] == "2023-10-31" and "kbn-xsrf" in sent.headers
    assert sent.headers["content-type"].startswith("multipart/form-data")
    form = parse_form(sent.headers["content-type"], sent.body)
    assert set(form) == {"service_name", "service_version", "bundle_filepath", "sourcemap"}
    assert form["service_name"][1] == b"frontend"
    assert form["service_version"][1] == b"1.4.2"
    assert form["bundle_filepath"][1] == b"/static/js/main.js"
    assert form["sourcemap"][1] == content
    [stored] = kibana.sourcemaps
    assert stored["identifier"] == "frontend-1.4.2"

    updated = await slack.wait_for(
        lambda: [c for c in slack.calls_to("views.update") if "Uploaded" in json.dumps(c.params)]
    )
    assert stored["id"] in json.dumps(updated[-1].params)
    await slack.wait_for(
        lambda: any("uploaded the source map" in m["text"] for m in slack.channel_messages("C0ALERTS"))
    )
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.target, entry.result, entry.space) == (
        "apm sourcemaps upload",
        "frontend 1.4.2",
        "ok",
        "ops",
    )


@pytest.mark.parametrize(
    ("name", "content", "wanted"),
    [
        ("big.js.map", b"{" + b" " * MIB + b"}", "Kibana accepts source maps of at most 1 MiB"),
        ("main.js.map", b"<html>not json</html>", "is not JSON"),
        ("main.js.map", json.dumps({"version": 3, "sources": "a.js"}).encode(), "is JSON but not a source map"),
    ],
)
async def test_bad_file_is_refused_in_the_form_and_nothing_uploaded(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, name: str, content: bytes, wanted: str
) -> None:
    file = slack.add_file(name, content, "application/json")
    view = await open_form(driver, slack)
    ack = await submit(driver, view, values(file))
    assert ack["response_action"] == "errors"
    assert wanted in ack["errors"]["file_block"]
    assert kibana.count("POST", SOURCEMAPS) == 0


async def test_not_a_source_map_lists_the_missing_keys(driver: SlackDriver, slack: FakeSlack) -> None:
    file = slack.add_file("x.json", json.dumps({"version": "3", "sources": ["a"]}).encode(), "application/json")
    ack = await submit(driver, await open_form(driver, slack), values(file))
    problem = ack["errors"]["file_block"]
    assert "`version` must be a number" in problem and "`mappings` must be a string" in problem


async def test_kibanas_413_reaches_the_open_modal(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    padding = MIB - len(json.dumps(VALID_MAP | {"x": ""})) - 8  # the file fits; file + multipart overhead does not
    content = json.dumps(VALID_MAP | {"x": "a" * padding}).encode()
    assert len(content) <= MIB
    file = slack.add_file("main.js.map", content, "application/json")
    view = await open_form(driver, slack)
    ack = await submit(driver, view, values(file))
    assert ack["response_action"] == "update"
    updated = await slack.wait_for(
        lambda: [c for c in slack.calls_to("views.update") if "warning" in json.dumps(c.params)]
    )
    shown = json.dumps(updated[-1].params)
    assert "larger than Kibana accepts" in shown and "1048576" in shown
    assert kibana.sourcemaps == []


async def test_kibanas_400_reaches_the_open_modal(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.fault("POST", SOURCEMAPS, status=400, times=1)
    file = slack.add_file("main.js.map", json.dumps(VALID_MAP).encode(), "application/json")
    ack = await submit(driver, await open_form(driver, slack), values(file))
    assert ack["response_action"] == "update"
    updated = await slack.wait_for(
        lambda: [c for c in slack.calls_to("views.update") if "warning" in json.dumps(c.params)]
    )
    shown = (
        json.loads(updated[-1].params["view"])
        if isinstance(updated[-1].params["view"], str)
        else updated[-1].params["view"]
    )
    assert "Kibana refused `/kibana apm sourcemaps upload`" in json.dumps(shown)
    # the form comes back filled in, ready to submit again
    inputs = {b["block_id"]: b["element"] for b in shown["blocks"] if b["type"] == "input"}
    assert inputs["service_name"]["initial_value"] == "frontend"


async def test_slow_download_is_checked_after_the_ack(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apm_sourcemap_upload, "ACK_BUDGET", 0.0)  # as if the download outlasted the budget
    file = slack.add_file("main.js.map", b"not json at all", "application/json")
    ack = await submit(driver, await open_form(driver, slack), values(file))
    assert ack["response_action"] == "update" and "Checking" in json.dumps(ack["view"])
    updated = await slack.wait_for(
        lambda: [c for c in slack.calls_to("views.update") if "is not JSON" in json.dumps(c.params)]
    )
    assert updated
    assert kibana.count("POST", SOURCEMAPS) == 0


async def test_missing_fields_are_form_errors(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    file = slack.add_file("main.js.map", json.dumps(VALID_MAP).encode(), "application/json")
    form = values(file, service_version="")
    form["file_block"] = {"sourcemap_file": {"type": "file_input", "files": []}}
    ack = await submit(driver, await open_form(driver, slack), form)
    assert ack == {
        "response_action": "errors",
        "errors": {"service_version": "Required.", "file_block": "Pick the source map file."},
    }
    assert slack.downloads == [] and kibana.count("POST", SOURCEMAPS) == 0
