"""APM routes: agent configuration, agent keys, source maps (behaviours.md §6).

Validation wording imitates io-ts `formatErrors` / `strictKeysRt`; clients should rely
on the status and `error`, not on these messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import zlib
from datetime import datetime
from typing import Any

from .calls import Call, Reply
from .errors import Boom
from .rules import iso

AGENT_KEY_PRIVILEGES = ("event:write", "config_agent:read")
CLUSTER_PRIVILEGES = ("manage_own_api_key",)


def invalid(message: str) -> Boom:
    return Boom(400, f"Failed to validate: \n  {message}")


def strict_keys(value: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = [f"{where}.{key}" for key in value if key not in allowed]
    if extra:
        raise invalid("Excess keys are not allowed:\n" + "\n".join(extra))


def no_query(call: Call, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    values = call.query_values()
    strict_keys({k: v for k, v in values.items()}, set(allowed), "query")
    return {key: value[-1] for key, value in values.items()}


def body_object(call: Call) -> dict[str, Any]:
    if not isinstance(call.json, dict):
        raise invalid(f"in /body: {json.dumps(call.json)} does not match expected type object")
    return call.json


def service(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"in /{where}: {json.dumps(value)} does not match expected type object")
    strict_keys(value, {"name", "environment"}, where.replace("/", "."))
    for key in ("name", "environment"):
        if key in value and not isinstance(value[key], str):
            raise invalid(f"in /{where}/{key}: {json.dumps(value[key])} does not match expected type string")
    return {key: value[key] for key in ("name", "environment") if key in value}


# ---------------------------------------------------------------------------- agent configuration
def list_configurations(call: Call) -> Reply:
    no_query(call)
    return Reply(200, {"configurations": [dict(config) for config in call.state.agent_configurations]})


def save_configuration(call: Call) -> Reply:
    query = no_query(call, frozenset({"overwrite"}))
    overwrite = query.get("overwrite", "false")
    if overwrite not in ("true", "false"):
        raise invalid(f'in /query/overwrite: "{overwrite}" does not match expected type toBooleanRt')
    body = body_object(call)
    strict_keys(body, {"agent_name", "service", "settings"}, "body")
    svc = service(body.get("service"), "body/service")
    settings = body.get("settings")
    if not isinstance(settings, dict):
        raise invalid(f"in /body/settings: {json.dumps(settings)} does not match expected type object")
    for key, value in settings.items():
        if not isinstance(value, str):
            raise invalid(f"in /body/settings/{key}: {json.dumps(value)} does not match expected type string")
    if "agent_name" in body and not isinstance(body["agent_name"], str):
        raise invalid(f"in /body/agent_name: {json.dumps(body['agent_name'])} does not match expected type string")
    existing = _find_configuration(call, svc)
    if existing is not None and overwrite != "true":
        shown = f"{svc.get('name', 'undefined')}/{svc.get('environment', 'undefined')}"
        raise Boom(
            400,
            f'A configuration already exists for "{shown}. '
            "Use ?overwrite=true to overwrite the existing configuration.",
        )
    config: dict[str, Any] = {
        "service": svc,
        "settings": dict(settings),
        "@timestamp": int(call.now.timestamp() * 1000),
        "applied_by_agent": False,
        "etag": hashlib.sha1(json.dumps([svc, settings], sort_keys=True).encode()).hexdigest(),  # noqa: S324
    }
    if "agent_name" in body:
        config["agent_name"] = body["agent_name"]
    if existing is not None:
        call.state.agent_configurations.remove(existing)
    call.state.agent_configurations.append(config)
    return Reply(200, {})


def delete_configuration(call: Call) -> Reply:
    no_query(call)
    body = body_object(call)
    strict_keys(body, {"service"}, "body")
    svc = service(body.get("service"), "body/service")
    existing = _find_configuration(call, svc)
    if existing is None:
        raise Boom(404)
    call.state.agent_configurations.remove(existing)
    return Reply(200, {"result": "deleted"})


def _find_configuration(call: Call, svc: dict[str, Any]) -> dict[str, Any] | None:
    for config in call.state.agent_configurations:
        stored = config["service"]
        if stored.get("name") == svc.get("name") and stored.get("environment") == svc.get("environment"):
            return config
    return None


# ---------------------------------------------------------------------------- agent keys
def create_agent_key(call: Call) -> Reply:
    no_query(call)
    body = body_object(call)
    strict_keys(body, {"name", "privileges"}, "body")
    if not isinstance(body.get("name"), str):
        raise invalid(f"in /body/name: {json.dumps(body.get('name'))} does not match expected type string")
    privileges = body.get("privileges")
    if not isinstance(privileges, list) or not all(p in AGENT_KEY_PRIVILEGES for p in privileges):
        raise invalid(
            f"in /body/privileges: {json.dumps(privileges)} does not match expected type "
            'Array<("event:write" | "config_agent:read")>'
        )
    if call.auth_scheme == "apikey":
        # Kibana creates the key as the caller; Elasticsearch refuses a key with privileges to a
        # caller that authenticated with an API key (§11, elastic/elasticsearch PR #53648).
        raise Boom(
            400,
            "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)",
        )
    forbidden = call.state.forbidden_for("createAgentKey")
    if forbidden is not None:
        missing = list(privileges)
        message = forbidden.message or (
            f"{call.username} is missing the following requested privilege(s): {', '.join(missing)}"
            f" and following cluster privileges - {', '.join(CLUSTER_PRIVILEGES)} privilege(s)."
            "    You might try with the superuser, or add the missing APM application privileges to the "
            "role of the authenticated user, eg.:\n    PUT /_security/role/my_role\n    {\n      ...\n"
            '      "applications": [{\n        "application": "apm",\n'
            f'        "privileges": {json.dumps(missing)},\n'
            '        "resources": [-]\n      }],\n      ...\n    }'
        )
        data = {"missingPrivileges": missing, "missingClusterPrivileges": list(CLUSTER_PRIVILEGES)}
        raise Boom(403, message, attributes={"data": data, "_inspect": []})
    alphabet = string.ascii_letters + string.digits
    key_id = "".join(secrets.choice(alphabet) for _ in range(20))
    api_key = "".join(secrets.choice(alphabet) for _ in range(22))
    encoded = base64.b64encode(f"{key_id}:{api_key}".encode()).decode()
    agent_key = {"id": key_id, "name": body["name"], "api_key": api_key, "encoded": encoded}
    call.state.agent_keys.append({**agent_key, "privileges": list(privileges), "created": iso(call.now)})
    return Reply(200, {"agentKey": agent_key})


# ---------------------------------------------------------------------------- source maps
def sourcemap_api(call: Call) -> None:
    """Without the source-map API: 501 when it is off, 404 when APM has no such route here."""
    if call.state.sourcemaps_mode == "disabled":
        raise Boom(501, "Not Implemented")
    if call.state.sourcemaps_mode == "absent":
        raise Boom(404)


def list_sourcemaps(call: Call) -> Reply:
    sourcemap_api(call)
    if call.state.sourcemaps_mode == "no-fleet":
        return Reply(200, None)  # Fleet is not set up: 200 with an empty body
    query = no_query(call, frozenset({"page", "perPage"}))
    try:
        page = int(query.get("page", "1"))
        per_page = int(query.get("perPage", "20"))
    except ValueError:
        raise invalid("in /query/page: does not match expected type toNumberRt") from None
    artifacts = [_listed(artifact) for artifact in reversed(call.state.sourcemaps)]
    start = (max(page, 1) - 1) * per_page
    return Reply(200, {"artifacts": artifacts[start : start + per_page], "total": len(artifacts)})


def _listed(artifact: dict[str, Any]) -> dict[str, Any]:
    decoded = json.loads(zlib.decompress(base64.b64decode(artifact["body"])))
    return {**artifact, "body": decoded}


def upload_sourcemap(call: Call) -> Reply:
    sourcemap_api(call)
    if call.state.sourcemaps_mode == "no-fleet":
        raise Boom(500, "Something went wrong while uploading sourcemap")
    no_query(call)
    form = call.form
    if form is None:
        raise Boom(415, "Unsupported Media Type")
    fields: dict[str, str] = {}
    for name in ("service_name", "service_version", "bundle_filepath", "sourcemap"):
        if name not in form:
            raise invalid(f"in /body/{name}: undefined does not match expected type string")
        fields[name] = form[name][1].decode("utf-8", errors="replace")
    strict_keys(form, {"service_name", "service_version", "bundle_filepath", "sourcemap"}, "body")
    try:
        source_map = json.loads(fields["sourcemap"])
    except ValueError as error:
        raise invalid(f"in /body/sourcemap: not valid JSON ({error})") from None
    problems = _source_map_problems(source_map)
    if problems:
        raise invalid("\n  ".join(f"in /body/sourcemap/{p}" for p in problems))
    artifact = make_artifact(
        fields["service_name"], fields["service_version"], fields["bundle_filepath"], source_map, call.now
    )
    call.state.sourcemaps[:] = [a for a in call.state.sourcemaps if a["id"] != artifact["id"]]
    call.state.sourcemaps.append(artifact)
    return Reply(200, artifact)


def make_artifact(
    service_name: str, service_version: str, bundle_filepath: str, source_map: Any, now: datetime
) -> dict[str, Any]:
    """A Fleet artifact as APM stores a source map (body = zlib + base64)."""
    decoded = json.dumps(
        {
            "serviceName": service_name,
            "serviceVersion": service_version,
            "bundleFilepath": bundle_filepath,
            "sourceMap": source_map,
        }
    ).encode()
    encoded = zlib.compress(decoded)
    identifier = f"{service_name}-{service_version}"
    encoded_sha = hashlib.sha256(encoded).hexdigest()
    return {
        "id": f"apm:{identifier}-{encoded_sha}",
        "identifier": identifier,
        "relative_url": f"/api/fleet/artifacts/{identifier}/{encoded_sha}",
        "body": base64.b64encode(encoded).decode(),
        "created": iso(now),
        "type": "sourcemap",
        "packageName": "apm",
        "encryptionAlgorithm": "none",
        "compressionAlgorithm": "zlib",
        "decodedSize": len(decoded),
        "decodedSha256": hashlib.sha256(decoded).hexdigest(),
        "encodedSize": len(encoded),
        "encodedSha256": encoded_sha,
    }


def _source_map_problems(source_map: Any) -> list[str]:
    if not isinstance(source_map, dict):
        return [f": {json.dumps(source_map)} does not match expected type object"]
    problems = []
    if isinstance(source_map.get("version"), bool) or not isinstance(source_map.get("version"), int | float):
        problems.append(f"version: {json.dumps(source_map.get('version'))} does not match expected type number")
    sources = source_map.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.append(f"sources: {json.dumps(sources)} does not match expected type Array<string>")
    if not isinstance(source_map.get("mappings"), str):
        problems.append(f"mappings: {json.dumps(source_map.get('mappings'))} does not match expected type string")
    return problems


def delete_sourcemap(call: Call) -> Reply:
    sourcemap_api(call)
    no_query(call)
    artifact_id = call.params["id"]
    remaining = [a for a in call.state.sourcemaps if a["id"] != artifact_id]
    if len(remaining) == len(call.state.sourcemaps):
        raise Boom(500, "Something went wrong while deleting sourcemap")
    call.state.sourcemaps[:] = remaining
    return Reply(200, {})
