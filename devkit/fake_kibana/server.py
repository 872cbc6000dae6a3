"""`FakeKibana`: a stateful fake Kibana over real HTTP (aiohttp.web) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from devkit.faults import Faults, retry_after_header
from devkit.served import ServedFake

from . import pipeline
from .calls import Call, Reply
from .errors import API_VERSION, INTERNAL_ERROR, JSON_CONTENT_TYPE, Boom, boom_body
from .people import Person, checked_privileges
from .records import Exchange, RecordedRequest
from .routes import Route, find_route, template_for
from .seeding import Seeding
from .state import DEFAULT_VERSION, LICENSES, KibanaState, now_utc, version_tuple

log = logging.getLogger(__name__)
SPACE_PREFIX = re.compile(r"^/s/([^/]+)(/.*)$")
APM_ATTRIBUTES: dict[str, Any] = {"data": None, "_inspect": []}


def _dump(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class FakeKibana(Seeding, ServedFake):
    """A fake Kibana; see devkit/fake_kibana/__init__.py for the whole interface."""

    client_max_size = 64 * 1024 * 1024  # above Kibana's own limits, so that the fake answers 413 as Kibana does

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("test-api-key",),
        users: Mapping[str, str] | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        api_key_owner: str = "elastic",
        version: str = DEFAULT_VERSION,
        license: str = "platinum",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`version` (e.g. "8.15.0", "9.3.0") and `license` (basic, gold, platinum, enterprise, trial)
        choose which Kibana the fake plays; see state.KibanaState. With `ssl_context` it serves HTTPS
        (TLS tests)."""
        self.ssl_context = ssl_context
        self.api_keys = set(api_keys)
        self.users = dict(users) if users is not None else {"elastic": "changeme"}
        self.api_key_owner = api_key_owner
        self.on_exchange = on_exchange
        self.people: dict[str, Person] = {}  # a person's encoded API key → its owner and privileges
        self.people_keys: set[str] = set()  # every person's key ever added, revoked ones too (leak checks)
        self.state = KibanaState(version=version, license_type=license)
        self.requests: list[RecordedRequest] = []
        self.exchanges: list[Exchange] = []
        self.exchange_errors: list[Exception] = []
        self._faults = Faults()

    def __repr__(self) -> str:
        return f"FakeKibana(url={self.url!r}, rules={len(self.state.rules)})"

    # ------------------------------------------------------------------ faults and records
    def forbid(self, operation: str, *, rule_id: str | None = None, message: str | None = None) -> None:
        """Answer 403 with Kibana's message for `operation` (see state.OPERATIONS)."""
        self.state.forbid(operation, rule_id=rule_id, message=message)

    def add_person(self, api_key: str, username: str, privileges: Mapping[str, Mapping[str, str]]) -> None:
        """Accept `api_key` (encoded) as `username`'s own key, holding `privileges`:
        {space (or "*" for every space): {"rules" | "cases" | "apm": "read" | "all"}}."""
        self.people[api_key] = Person(username, checked_privileges(privileges))
        self.people_keys.add(api_key)

    def grant(self, api_key: str, space: str, feature: str, level: str) -> None:
        """Give the owner of `api_key` `feature: level` in `space` from now on."""
        person = self.people[api_key]
        person.privileges = checked_privileges(
            {**person.privileges, space: {**person.privileges.get(space, {}), feature: level}}
        )

    def revoke(self, api_key: str) -> None:
        """Invalidate a key (a person's or the bot's) at once: it gets 401 from now on, as an expired one does."""
        self.people.pop(api_key, None)
        self.api_keys.discard(api_key)

    def count(self, method: str, route: str, *, space: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if r.method == method.upper() and r.route == route and (space is None or r.space == space)
        )

    @property
    def version(self) -> str:
        return self.state.version

    @version.setter
    def version(self, value: str) -> None:
        """Play another Kibana version from now on (an upgrade), keeping the saved objects."""
        self.state.version, self.state.version_tuple = value, version_tuple(value)

    @property
    def license(self) -> str:
        return self.state.license_type

    @license.setter
    def license(self, value: str) -> None:
        if value not in LICENSES:
            raise ValueError(f"license must be one of {', '.join(LICENSES)}, not {value!r}")
        self.state.license_type = value

    def reset(self) -> None:
        self.state = KibanaState(version=self.state.version, license_type=self.state.license_type)
        self.requests.clear()
        self.exchanges.clear()
        self.exchange_errors.clear()
        self._faults.clear()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        method = request.method.upper()
        raw_path = request.rel_url.raw_path
        prefixed = SPACE_PREFIX.match(raw_path)
        space = unquote(prefixed.group(1)) if prefixed else "default"
        api_path = prefixed.group(2) if prefixed else raw_path
        found = find_route(method, api_path, self.state.version_tuple)
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = RecordedRequest(
            method=method,
            path=unquote(raw_path),
            space=space,
            route=found[0].template if found else template_for(api_path),
            path_params=found[1] if found else {},
            query=_query_dict(list(request.rel_url.query.items())),
            headers=headers,
            body=body,
            json=_try_json(body),
            query_string=request.rel_url.raw_query_string,
        )
        self.requests.append(record)

        fault = self._faults.take(method, unquote(api_path))
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            if fault.status is not None:
                extra = {"retry-after": retry_after_header(fault.retry_after)} if fault.retry_after else {}
                payload = fault.body if fault.body is not None else boom_body(fault.status)
                return self._answer(record, fault.status, payload, extra)

        versioned: dict[str, str] = {}
        try:
            if found is None:
                raise Boom(404)
            route, params = found
            key_owners = {key: person.username for key, person in self.people.items()}
            username = pipeline.authenticate(headers, self.api_keys, self.users, self.api_key_owner, key_owners)
            scheme = headers.get("authorization", "").strip().partition(" ")[0].lower()
            json_body, form = self._parse_payload(method, headers, body)
            pipeline.check_xsrf(method, headers)
            versioned = {"elastic-api-version": API_VERSION}
            self.state.caller = self._person(headers, space)
            try:
                reply = self._run_route(route, params, space, username, scheme, record, json_body, form)
            finally:
                self.state.caller = None
        except Boom as boom:
            return self._answer(record, boom.status, boom.body(), {**versioned, **boom.headers})
        except Exception:
            log.exception("fake Kibana handler failed for %s %s", method, record.path)
            return self._answer(record, 500, boom_body(500, INTERNAL_ERROR), versioned)
        return self._answer(record, reply.status, reply.body, {**versioned, **reply.headers})

    def _person(self, headers: Mapping[str, str], space: str) -> tuple[Person, str] | None:
        scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
        person = self.people.get(credentials.strip()) if scheme.lower() == "apikey" else None
        return (person, space) if person is not None else None

    def _parse_payload(
        self, method: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Any, dict[str, tuple[str | None, bytes]] | None]:
        if method in pipeline.SAFE_METHODS:
            return None, None
        pipeline.check_payload_size(headers, body)
        content_type = headers.get("content-type", "application/json")
        mime = content_type.split(";")[0].strip().lower()
        if mime == "multipart/form-data":
            return None, pipeline.parse_form(content_type, body)
        if mime == "application/json" or mime.endswith("+json"):
            if not body.strip():
                return None, None
            try:
                return json.loads(body), None
            except ValueError:
                raise Boom(400, "Invalid request payload JSON format") from None
        if mime.startswith("text/"):
            return body.decode("utf-8", errors="replace") or None, None
        if not body:
            return None, None
        raise Boom(415, "Unsupported Media Type")

    def _run_route(
        self,
        route: Route,
        params: dict[str, str],
        space: str,
        username: str,
        scheme: str,
        record: RecordedRequest,
        json_body: Any,
        form: dict[str, tuple[str | None, bytes]] | None,
    ) -> Reply:
        if route.family == "apm":
            pipeline.check_api_version(record.headers, route.method, route.template)
            if route.privilege is not None:
                operation, privilege = route.privilege
                forbidden = self.state.forbidden_for(operation)
                if forbidden is not None:
                    raise Boom(
                        403,
                        forbidden.message
                        or f"API [{route.method} {route.template}] is unauthorized for user, "
                        f"this action is granted by the Kibana privileges [{privilege}]",
                    )
        call = Call(
            state=self.state,
            method=route.method,
            route=route.template,
            space=space,
            params=params,
            query=[(k, v) for k, v in _pairs(record)],
            headers=record.headers,
            body=record.body,
            json=json_body,
            form=form,
            username=username,
            now=now_utc(),
            auth_scheme=scheme,
        )
        try:
            return route.handler(call)
        except Boom as boom:
            if route.family == "apm" and boom.attributes is None:
                boom.attributes = dict(APM_ATTRIBUTES)
            raise

    def _answer(self, record: RecordedRequest, status: int, payload: Any, headers: dict[str, str]) -> web.Response:
        response_headers = dict(headers)
        if status == 204 or payload is None:
            body = b""
        else:
            body = _dump(payload)
            response_headers["content-type"] = JSON_CONTENT_TYPE
        exchange = Exchange(record, status, response_headers, body)
        self.exchanges.append(exchange)
        if self.on_exchange is not None:
            try:
                self.on_exchange(exchange)
            except Exception as error:  # keep answering; the test reads exchange_errors
                log.warning("on_exchange failed for %s %s: %s", record.method, record.path, error)
                self.exchange_errors.append(error)
        response = web.Response(status=status, body=body if body else None, headers=response_headers)
        return response

    @property
    def now(self) -> datetime:
        return now_utc()


def _pairs(record: RecordedRequest) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in record.query.items():
        pairs.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return pairs


def _query_dict(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    result: dict[str, str | list[str]] = {}
    for key, value in pairs:
        existing = result.get(key)
        if existing is None:
            result[key] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            result[key] = [existing, value]
    return result


def _try_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
