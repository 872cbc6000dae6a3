"""Check HTTP requests and responses against Kibana's OpenAPI description.

`ContractValidator(spec_path())` loads the project's description of the Kibana calls the
bot makes, `devkit/openapi/kibana.yaml` (shipped with the package), or any Kibana
OpenAPI file named by $KIBANA_OPENAPI_SPEC, with openapi-core and raises `ContractViolation`, a
readable `AssertionError`, when a request the bot sends or an answer a (fake)
Kibana gives does not match it. Space prefixes (`/s/{space}`) are stripped first:
the spec's paths have none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_ENV = "KIBANA_OPENAPI_SPEC"
DEFAULT_SPEC = Path(__file__).resolve().parent / "openapi" / "kibana.yaml"
HOST_URL = "http://localhost:5601"

_SPACE_PREFIX = re.compile(r"^/s/([a-z0-9_-]+)(?=/)")

QueryArg = Mapping[str, str | list[str]] | Iterable[tuple[str, str]] | None


class ContractViolation(AssertionError):
    """A request or response does not match the OpenAPI contract."""


def spec_path(repo_root: Path | None = None) -> Path:
    """The spec named by $KIBANA_OPENAPI_SPEC (relative paths are from `repo_root`, by default
    the repository root), else the project's own spec, `DEFAULT_SPEC`."""
    named = os.environ.get(SPEC_ENV)
    if not named:
        return DEFAULT_SPEC
    root = repo_root or Path(__file__).resolve().parents[1]
    path = Path(named).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def strip_space(path: str) -> tuple[str, str]:
    """(`space id`, `path without /s/{space}`); the space is "default" without a prefix."""
    match = _SPACE_PREFIX.match(path)
    if match is None:
        return "default", path
    return match.group(1), path[match.end() :]


def load_spec(path: Path) -> dict[str, Any]:
    """The spec as a dict, with media-type parameters (`; Elastic-Api-Version=…`) removed."""
    with path.open(encoding="utf-8") as stream:
        spec = yaml.safe_load(stream)
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ValueError(f"{path} is not an OpenAPI document")
    _strip_media_type_parameters(spec)
    return spec


def _strip_media_type_parameters(node: Any) -> None:
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict):
            node["content"] = {key.split(";")[0].strip(): value for key, value in content.items()}
        for value in node.values():
            _strip_media_type_parameters(value)
    elif isinstance(node, list):
        for item in node:
            _strip_media_type_parameters(item)


@dataclass
class _Request:
    """An HTTP request in the shape openapi-core reads (its `Request` protocol)."""

    method: str
    path: str
    content_type: str
    body: bytes | None
    parameters: RequestParameters
    host_url: str = HOST_URL


@dataclass
class _Response:
    status_code: int
    content_type: str
    data: bytes | None
    headers: Headers = field(default_factory=Headers)


class ContractValidator:
    """Validate requests and responses against one OpenAPI document."""

    def __init__(self, spec_path: str | Path) -> None:
        self.spec_path = Path(spec_path)
        if not self.spec_path.is_file():
            raise FileNotFoundError(f"OpenAPI spec not found: {self.spec_path}")
        spec = load_spec(self.spec_path)
        spec["servers"] = [{"url": HOST_URL}]
        self._openapi = OpenAPI.from_dict(spec)
        self.paths: list[str] = list(spec["paths"])

    def validate_request(
        self,
        method: str,
        url: str,
        query: QueryArg = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Raise `ContractViolation` unless the request matches an operation of the spec.

        `url` may be a full URL or a path, with or without a query string and a
        `/s/{space}` prefix; `query` adds (or gives) the query parameters.
        """
        request = self._request(method, url, query, headers, body, content_type)
        problems = list(_describe_all(self._openapi.iter_request_errors(request)))
        if problems:
            raise ContractViolation(_report("request", method, request.path, problems, body))

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Raise `ContractViolation` unless `status` and the body are what the spec describes."""
        request = self._request(method, path, None, None, None, None)
        header_map = Headers(list((headers or {}).items()))
        kind = content_type or header_map.get("content-type") or ""
        response = _Response(status, kind.lower(), body or b"", header_map)
        problems = list(_describe_all(self._openapi.iter_response_errors(request, response)))
        if problems:
            raise ContractViolation(_report(f"{status} response to", method, request.path, problems, body))

    def _request(
        self,
        method: str,
        url: str,
        query: QueryArg,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> _Request:
        parts = urlsplit(url)
        _, path = strip_space(parts.path or "/")
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if isinstance(query, Mapping):
            for key, value in query.items():
                pairs.extend((key, item) for item in (value if isinstance(value, list) else [value]))
        elif query is not None:
            pairs.extend(query)
        header_map = Headers(list((headers or {}).items()))
        kind = content_type or header_map.get("content-type") or ""
        parameters = RequestParameters(query=ImmutableMultiDict(pairs), header=header_map)
        return _Request(method.lower(), path, kind.lower(), body if body else None, parameters)


def _describe_all(errors: Iterator[Exception]) -> Iterator[str]:
    for error in errors:
        yield from _describe(error)


def _describe(error: BaseException, depth: int = 0) -> Iterator[str]:
    """The error and everything it wraps (openapi-core nests schema errors), one line each."""
    indent = "  " * depth
    schema_errors = getattr(error, "schema_errors", None) or []
    text = "value does not match the schema" if schema_errors else " ".join(str(error).split())[:300]
    yield f"{indent}{type(error).__name__}: {text}"
    for nested in schema_errors:
        location = "/".join(str(p) for p in getattr(nested, "absolute_path", []))
        message = getattr(nested, "message", str(nested))
        yield f"{indent}  at {location or '<body>'}: {message}"
    cause = error.__cause__
    if cause is not None and depth < 5:
        yield from _describe(cause, depth + 1)


def _report(what: str, method: str, path: str, problems: list[str], body: bytes | None) -> str:
    lines = [f"{what} {method.upper()} {path} does not match the Kibana contract:"]
    lines.extend(f"  {line}" for line in problems)
    if body:
        lines.append(f"  body: {body[:500]!r}")
    return "\n".join(lines)
