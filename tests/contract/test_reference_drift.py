"""Drift between the project's own fixtures and the team's reference material.

The repository carries everything its tests read: the Kibana spec (devkit/openapi/kibana.yaml)
and the Slack fixtures (tests/fixtures/slack/). Both were written from a reference collection
(Kibana's OpenAPI documents, real Slack payloads, Slack's manifest schema) that is not part of the
repository. Where that collection sits beside the repository (a `shared/reference` folder next to it, or
$SHARED_REFERENCE_DIR), these tests check that the project's copies still agree with it:

- every operation of the project's spec exists in the reference spec, with the same parameters,
  request body and response schemas (the project's spec may leave out operations, optional
  parameters, response codes and media types, but what it has must match);
- every Slack fixture has the key structure of the payload it is modelled on (`MODELS`);
- the trimmed manifest schema is a verbatim part of Slack's, and manifest.json passes the full one.

Elsewhere they skip and say why. The first two tests below need no reference and always run.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import pytest
import yaml

from devkit.contract import DEFAULT_SPEC, load_spec
from devkit.slack_driver import sign

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "slack"
REFERENCE_ENV = "SHARED_REFERENCE_DIR"
KIBANA_REFERENCE = Path("kibana") / "kibana-subset.openapi.yaml"
MANIFEST_SCHEMA = "manifest.schema.1.0.0.trimmed.json"

# fixture in tests/fixtures/slack/ → the reference payload (under slack/payloads/) it is modelled on
MODELS: dict[str, str] = {
    "slash_command.form.txt": "a_slash_command.http_request.camunda-docs.txt",
    "signing_vector.txt": "signing_test_vector.slack-docs.txt",
    "block_actions_button_in_message.json": "c_block_actions_button_in_message.slack-machine.json",
    "block_actions_button_without_style.json": "c_block_actions_button_in_message.bolt-python.json",
    "socket_mode_block_actions_in_modal.json": (
        "h_socket_mode_envelope.interactive_block_actions_large.python-sdk.raw.json"
    ),
    "message_shortcut.json": "b_message_shortcut.java-sdk.json",
    "block_suggestion.json": "g_block_suggestion.external_select_in_modal.bolt-python.json",
    "view_submission.json": "d_view_submission.real-capture.slack-machine.json",
    "view_submission_four_inputs.json": "d_view_submission.COMPOSITE_4_types.json",
    "view_submission_shared_action_id.json": "d_view_submission.static_select.java-sdk.json",
    "view_submission_response_urls.json": "d_view_submission.response_urls.bolt-python.json",
    "view_closed.json": "e_view_closed.slack-machine.json",
    "event_callback_app_mention.json": "i_event_callback_app_mention_with_authorizations.bolt-python.json",
    "url_verification.json": "i_url_verification.bolt-python.json",
    "socket_mode_hello.json": "h_socket_mode_hello.python-sdk.json",
    "socket_mode_slash_commands.json": "h_socket_mode_envelope.slash_commands.bolt-python.json",
    "socket_mode_events_api_app_mention.json": "h_socket_mode_envelope.events_api_app_mention.python-sdk.json",
    "socket_mode_events_api_retry.json": "h_socket_mode_envelope.events_api_retry.bolt-python.json",
    "socket_mode_interactive_shortcut.json": "h_socket_mode_envelope.interactive_shortcut.bolt-python.json",
}
# Fixtures of payloads the reference has no capture of: fixture → the public page it follows. The test
# checks that the reference still lacks one, so that this list cannot hide a model it gains.
OUTSIDE_REFERENCE: dict[str, tuple[str, str]] = {
    "event_callback_function_executed.json": (
        "function_executed",
        "the example of docs.slack.dev/reference/events/function_executed (a Workflow Builder step)",
    ),
}
# objects keyed by ids the payload's author chose (block_id → action_id → entry): compared by position
ID_KEYED = ("state.values", "state.values.*")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Operations the project's spec has and the reference subset does not (it covers alerting, cases and
# APM only). Each is named with where in Kibana it comes from; the test checks that the reference still
# lacks it, so that this list cannot hide a real difference once the reference gains the operation.
NOT_IN_REFERENCE = {
    "GET /api/status": "Kibana core's status route; the bot reads version.number (behaviours.md §11)",
    "GET /api/licensing/info": "the licensing plugin's info route; license.type and .status (behaviours.md §11)",
    "GET /api/cases/configure": "the cases plugin's case settings of an owner (custom fields); Kibana's cases API",
    "POST /api/detection_engine/signals/status": (
        "the Security solution's set alerts status route (SetAlertsStatus, set_signals_status_route.schema.yaml)"
    ),
    "POST /api/maintenance_window": "alerting's public maintenance-window create (8.19+/9.1+)",
    "GET /api/maintenance_window/_find": "alerting's public maintenance-window find (9.2+), routes/maintenance_window",
    "GET /api/maintenance_window/{id}": "alerting's public maintenance-window routes (8.19+/9.1+)",
    "POST /api/maintenance_window/{id}/_archive": "alerting's public maintenance-window archive (8.19+/9.1+)",
    "POST /api/alerting/rule/{rule_id}/alert/{alert_id}/_snooze": "9.5's alert snooze, read in Kibana's source",
    "POST /api/alerting/rule/{rule_id}/alert/{alert_id}/_unsnooze": "9.5's alert unsnooze, read in Kibana's source",
    "GET /api/cases/{caseId}/user_actions/_find": (
        "the cases plugin's activity of a case (findCaseActivityDefaultSpace); Kibana's cases API"
    ),
}
ANNOTATIONS = {"description", "summary", "example", "examples", "title", "externalDocs"}


def reference_dir() -> Path:
    named = os.environ.get(REFERENCE_ENV)
    return Path(named).expanduser() if named else REPO.parent / "shared" / "reference"


@pytest.fixture(scope="module")
def reference() -> Path:
    folder = reference_dir()
    if os.environ.get(REFERENCE_ENV) and not folder.is_dir():
        pytest.fail(f"{REFERENCE_ENV}={folder} is not a folder")
    if not folder.is_dir():
        pytest.skip(
            f"no shared reference beside the repository at {folder} (set {REFERENCE_ENV} to one): "
            "the project's fixtures cannot be compared with what they were written from"
        )
    return folder


def reference_file(reference: Path, relative: str | Path) -> Path:
    path = reference / relative
    assert path.is_file(), f"the reference has no {relative} any more: update the fixture's model"
    return path


# --- always: every fixture has a model, and the README says what it is ------------------------


def test_every_slack_fixture_is_mapped_to_its_model() -> None:
    fixtures = {p.name for p in FIXTURES.iterdir() if p.name not in {"README.md", MANIFEST_SCHEMA}}
    assert fixtures == set(MODELS) | set(OUTSIDE_REFERENCE)
    assert not set(MODELS) & set(OUTSIDE_REFERENCE)


def test_the_fixtures_outside_the_reference_are_still_outside_it(reference: Path) -> None:
    payloads = [p.read_text(errors="replace") for p in (reference / "slack" / "payloads").iterdir() if p.is_file()]
    for fixture, (event_type, _) in OUTSIDE_REFERENCE.items():
        assert not any(f'"{event_type}"' in text for text in payloads), (
            f"the reference now has a {event_type} payload: map {fixture} to it in MODELS"
        )


def test_the_fixtures_readme_names_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text()
    missing = [name for name in [*MODELS, MANIFEST_SCHEMA] if f"`{name}`" not in readme]
    assert not missing, f"tests/fixtures/slack/README.md does not describe {missing}"


# --- the Kibana spec ----------------------------------------------------------------------------


def _inline(node: Any, spec: dict[str, Any], path: str = "", seen: tuple[str, ...] = ()) -> Any:
    """`node` with every $ref replaced by its target and annotations (prose) dropped, so two
    specs that name or describe their components differently compare equal when they mean the same."""
    if isinstance(node, list):
        return [_inline(item, spec, path, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in seen, f"unsupported or cyclic $ref {ref} at {path}"
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        return _inline(target, spec, path, (*seen, ref))
    out = {}
    for key, value in node.items():
        is_field_map = path.endswith(".properties")  # keys here are field names, not keywords
        if not is_field_map and (key in ANNOTATIONS or key.startswith("x-")):
            continue
        out[key] = _inline(value, spec, f"{path}.{key}", seen)
    return out


def _difference(ours: Any, theirs: Any, path: str = "") -> str:
    """Where two inlined values first differ, as `path: ours != theirs` (short enough to read)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            if key not in ours or key not in theirs:
                return f"{path}.{key}: only in {'the reference' if key not in ours else 'ours'}"
            if ours[key] != theirs[key]:
                return _difference(ours[key], theirs[key], f"{path}.{key}")
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (mine, model) in enumerate(zip(ours, theirs, strict=True)):
            if mine != model:
                return _difference(mine, model, f"{path}[{index}]")
    return f"{path or '<root>'}: {str(ours)[:120]} != {str(theirs)[:120]}"


def _parameters(item: dict[str, Any], operation: dict[str, Any], spec: dict[str, Any]) -> dict[tuple[str, str], Any]:
    found = {}
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        resolved = _inline(parameter, spec)
        found[(resolved["in"], resolved["name"])] = resolved
    return found


def _media(node: dict[str, Any] | None, spec: dict[str, Any]) -> dict[str, Any]:
    return _inline((node or {}).get("content", {}), spec)


def spec_drift(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """What in `ours` the reference spec `theirs` does not have, or has differently."""
    problems: list[str] = []
    for path, item in ours["paths"].items():
        for method in (m for m in METHODS if m in item):
            where = f"{method.upper()} {path}"
            their_item = theirs["paths"].get(path, {})
            if method not in their_item:
                if where not in NOT_IN_REFERENCE:
                    problems.append(f"{where}: not in the reference")
                continue
            mine, ref = item[method], their_item[method]

            my_params, ref_params = _parameters(item, mine, ours), _parameters(their_item, ref, theirs)
            for key, parameter in my_params.items():
                if key not in ref_params:
                    problems.append(f"{where}: parameter {key} not in the reference")
                elif parameter != ref_params[key]:
                    problems.append(f"{where}: parameter {key} differs at {_difference(parameter, ref_params[key])}")
            for key, parameter in ref_params.items():
                if parameter.get("required") and key not in my_params:
                    problems.append(f"{where}: required parameter {key} is missing")

            my_body, ref_body = mine.get("requestBody"), ref.get("requestBody")
            if (my_body is None) != (ref_body is None):
                problems.append(f"{where}: request body {'added' if my_body else 'missing'}")
            elif my_body is not None and ref_body is not None:
                my_body, ref_body = _inline(my_body, ours), _inline(ref_body, theirs)
                if bool(my_body.get("required")) != bool(ref_body.get("required")):
                    problems.append(f"{where}: request body required={my_body.get('required')}")
                for kind, media in _media(my_body, ours).items():
                    their_media = _media(ref_body, theirs).get(kind)
                    if media != their_media:
                        problems.append(f"{where}: request body {kind} differs at {_difference(media, their_media)}")

            for status, response in mine["responses"].items():
                if status not in ref["responses"]:
                    problems.append(f"{where}: response {status} not in the reference")
                    continue
                my_content = _media(_inline(response, ours), ours)
                ref_content = _media(_inline(ref["responses"][status], theirs), theirs)
                if not set(my_content) <= set(ref_content):
                    problems.append(f"{where}: response {status} media types {sorted(my_content)}")
                for kind, media in my_content.items():
                    if media != ref_content.get(kind):
                        problems.append(
                            f"{where}: response {status} {kind} differs at {_difference(media, ref_content.get(kind))}"
                        )
                if ref_content and not my_content:
                    problems.append(f"{where}: response {status} has no body schema")

            my_security = mine.get("security", ours.get("security"))
            ref_security = ref.get("security", theirs.get("security"))
            if my_security != ref_security:
                problems.append(f"{where}: security {my_security} != {ref_security}")
    my_schemes = _inline(ours.get("components", {}).get("securitySchemes", {}), ours)
    ref_schemes = _inline(theirs.get("components", {}).get("securitySchemes", {}), theirs)
    if my_schemes != ref_schemes:
        problems.append(f"securitySchemes differ at {_difference(my_schemes, ref_schemes)}")
    return problems


def test_the_kibana_spec_matches_the_reference(reference: Path) -> None:
    ours = load_spec(DEFAULT_SPEC)
    theirs = load_spec(reference_file(reference, KIBANA_REFERENCE))
    problems = spec_drift(ours, theirs)
    assert not problems, "devkit/openapi/kibana.yaml drifted from the reference:\n" + "\n".join(problems)
    now_there = [op for op in NOT_IN_REFERENCE if op.split()[0].lower() in theirs["paths"].get(op.split()[1], {})]
    assert not now_there, f"now in the reference, so compare them: remove {now_there} from NOT_IN_REFERENCE"
    assert all(op.split()[0].lower() in ours["paths"][op.split()[1]] for op in NOT_IN_REFERENCE)


def test_the_spec_comparison_sees_a_change() -> None:
    """spec_drift() is not vacuous: it reports a schema, a status and a parameter that differ."""
    spec = load_spec(DEFAULT_SPEC)
    changed = copy.deepcopy(spec)
    changed["components"]["schemas"]["Cases_case_title"]["maxLength"] = 200
    changed["paths"]["/api/alerting/rule/{id}"]["get"]["responses"]["418"] = {"description": "teapot"}
    changed["paths"]["/api/alerting/rules/_find"]["get"]["parameters"][0]["required"] = True
    assert spec_drift(spec, spec) == []
    problems = "\n".join(spec_drift(changed, spec))
    assert (
        "POST /api/cases: request body application/json differs at .schema.properties.title.maxLength: 200 != 160"
        in problems
    )
    assert "GET /api/alerting/rule/{id}: response 418 not in the reference" in problems
    assert "GET /api/alerting/rules/_find: parameter ('query', 'per_page') differs" in problems


# --- the Slack fixtures ---------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", type(None): "null", dict: "object", list: "array"}[type(value)]


def structure_drift(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where `ours` differs from `theirs` in keys or kinds of values, at every level (lists: item by
    item as far as both go; id-keyed objects: entry by entry in order)."""
    where = path or "<root>"
    if _kind(ours) != _kind(theirs):
        return [f"{where}: {_kind(ours)} where the model has {_kind(theirs)}"]
    problems: list[str] = []
    if isinstance(ours, dict) and path.lstrip(".").endswith(ID_KEYED):
        for mine, model in zip(ours.values(), theirs.values(), strict=False):
            problems += structure_drift(mine, model, f"{path}.*")
    elif isinstance(ours, dict):
        missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
        if missing or extra:
            problems.append(f"{where}: missing {missing}, extra {extra}")
        for key in ours.keys() & theirs.keys():
            problems += structure_drift(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, list):
        for index, (mine, model) in enumerate(zip(ours, theirs, strict=False)):
            problems += structure_drift(mine, model, f"{path}[{index}]")
    return problems


def _form_fields(text: str) -> list[str]:
    """Field names of a form body; an HTTP request's body is what follows its headers."""
    body = text.strip().split("\n\n")[-1]
    return [name for name, _ in parse_qsl("".join(line.strip() for line in body.splitlines()), True)]


def _vector(text: str) -> dict[str, str]:
    pairs = (line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))
    return {name.strip(): value for name, value in pairs}


@pytest.mark.parametrize("fixture", sorted(name for name in MODELS if name.endswith(".json")))
def test_each_slack_fixture_has_the_structure_of_its_model(reference: Path, fixture: str) -> None:
    model = json.loads(reference_file(reference, Path("slack") / "payloads" / MODELS[fixture]).read_text())
    model.pop("_comment", None)  # a note of the reference's author, not part of the payload
    problems = structure_drift(json.loads((FIXTURES / fixture).read_text()), model)
    assert not problems, f"{fixture} vs {MODELS[fixture]}:\n" + "\n".join(problems)


def test_the_slash_command_has_slacks_fields_in_slacks_order(reference: Path) -> None:
    model = reference_file(reference, Path("slack") / "payloads" / MODELS["slash_command.form.txt"])
    assert _form_fields((FIXTURES / "slash_command.form.txt").read_text()) == _form_fields(model.read_text())


def test_the_signing_vector_has_slacks_fields_and_sign_reproduces_slacks(reference: Path) -> None:
    model = _vector(reference_file(reference, Path("slack") / "payloads" / MODELS["signing_vector.txt"]).read_text())
    assert set(_vector((FIXTURES / "signing_vector.txt").read_text())) == set(model)
    stamp = int(model["X-Slack-Request-Timestamp"])
    assert sign(model["signing_secret"], model["body"], stamp)["X-Slack-Signature"] == model["X-Slack-Signature"]


def test_the_manifest_schema_is_a_verbatim_part_of_slacks(reference: Path) -> None:
    full = json.loads(reference_file(reference, Path("slack") / "manifest.schema.1.0.0.json").read_text())
    trimmed = json.loads((FIXTURES / MANIFEST_SCHEMA).read_text())
    trimmed.pop("$comment")
    assert set(trimmed) == set(full)
    assert {k: v for k, v in trimmed.items() if k not in {"properties", "definitions"}} == {
        k: v for k, v in full.items() if k not in {"properties", "definitions"}
    }
    assert set(trimmed["properties"]) == set(full["properties"])
    for name, schema in trimmed["properties"].items():
        assert schema is False or schema == full["properties"][name], f"properties.{name} differs"
    for name, schema in trimmed["definitions"].items():
        assert schema == full["definitions"].get(name), f"definitions.{name} differs"
    jsonschema.validate(yaml.safe_load((REPO / "manifest.json").read_text()), full)
