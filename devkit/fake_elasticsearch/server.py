"""`FakeElasticsearch`: a fake Elasticsearch 8.x/9.x over real HTTP (aiohttp.web) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import json
import logging
import re
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from devkit.fake_kibana.records import Exchange, RecordedRequest
from devkit.faults import Faults, retry_after_header
from devkit.served import ServedFake

from . import errors
from .alerts import AlertDoc, alias_for, backing_index
from .errors import EsError
from .query import required_term
from .search import Stored, merge_params, run_search
from .writes import AlertWrites

log = logging.getLogger(__name__)
SEARCH_PATH = re.compile(r"^/(?:(?P<index>[^/_][^/]*)/)?_search$")
ReadMode = Literal["granted", "none", "other_indices"]


def _default_keys() -> dict[str, str]:
    return {"fake-es-key-id": "fake-es-key-secret"}


class FakeElasticsearch(AlertWrites, ServedFake):
    """A fake Elasticsearch; see devkit/fake_elasticsearch/__init__.py for the interface."""

    def __init__(
        self,
        *,
        api_keys: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        roles: Sequence[str] = ("kibana_chatops",),
        api_key_owner: str = "elastic",
        version: str = "8.17.0",
        cluster_name: str = "fake-cluster",
        run_duration: timedelta = timedelta(0),
    ) -> None:
        self.api_keys = dict(api_keys) if api_keys is not None else _default_keys()
        self.users = dict(users) if users is not None else {"elastic": "changeme"}
        self.roles = list(roles)
        self.api_key_owner = api_key_owner
        self.key_owners: dict[str, str] = {}  # API key id → its owner, for keys not the bot's (add_person)
        self.version = version
        self.cluster_name = cluster_name
        self.cluster_uuid = str(uuid_module.uuid5(uuid_module.NAMESPACE_DNS, cluster_name))
        self.alerts: dict[str, AlertDoc] = {}
        self._active_ids: dict[tuple[str, str, str], str] = {}
        self.run_duration = run_duration  # how long a rule run takes (its documents are stamped with its start)
        self.documents: dict[str, dict[str, dict[str, Any]]] = {}  # extra (non-alert) indices: name -> id -> source
        self.alerts_read: ReadMode = "granted"
        self.cluster_monitor = True
        self.requests: list[RecordedRequest] = []
        self.exchanges: list[Exchange] = []
        self._faults = Faults()

    def __repr__(self) -> str:
        return f"FakeElasticsearch(url={self.url!r}, alerts={len(self.alerts)})"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def api_key(self) -> str:
        """The first API key, encoded as Kibana shows it (base64 of `id:key`)."""
        key_id, secret = next(iter(self.api_keys.items()))
        return base64.b64encode(f"{key_id}:{secret}".encode()).decode()

    def add_person(self, encoded: str, username: str) -> None:
        """Accept the encoded API key `encoded` (base64 of `id:key`) as one of `username`'s."""
        key_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        self.api_keys[key_id] = secret
        self.key_owners[key_id] = username

    # ------------------------------------------------------------------ security modes and faults
    def deny_alerts_read(self, mode: Literal["none", "other_indices"] = "none") -> None:
        """`none`: the credentials have no index privilege granting search at all, so every search is
        403. `other_indices`: they may read other indices but not `.alerts-*`: as in Elasticsearch, a
        wildcard then silently skips the alerts indices (200, no hits) and only a concrete name is 403."""
        self.alerts_read = mode

    def allow_alerts_read(self) -> None:
        self.alerts_read = "granted"

    def searches(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == "/{index}/_search"]

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        method = request.method.upper()
        path = unquote(request.rel_url.raw_path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        params = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
        found = SEARCH_PATH.match(path)
        route = "/{index}/_search" if found else path
        record = RecordedRequest(
            method=method,
            path=path,
            space="",
            route=route,
            path_params={"index": found.group("index") or "_all"} if found else {},
            query=dict(params),
            headers=headers,
            body=body,
            json=_try_json(body),
            query_string=request.rel_url.raw_query_string,
        )
        self.requests.append(record)
        accept = headers.get("accept", "")
        fault = self._faults.take(method, path)
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            if fault.status is not None:
                extra = [("Retry-After", retry_after_header(fault.retry_after))] if fault.retry_after else []
                payload = fault.body if fault.body is not None else _status_body(fault.status)
                return self._answer(record, fault.status, payload, accept, extra)
        try:
            self._check_compatibility(headers)
            who = self._authenticate(headers, unquote(str(request.rel_url)))
            status, payload = self._route(method, path, found, params, body, who)
        except EsError as error:
            return self._answer(record, error.status, error.body(), accept, error.headers)
        except Exception:
            log.exception("fake Elasticsearch failed for %s %s", method, path)
            return self._answer(record, 500, _status_body(500), accept, [])
        return self._answer(record, status, payload, accept, [])

    def _check_compatibility(self, headers: Mapping[str, str]) -> None:
        for name in ("accept", "content-type"):
            value = headers.get(name, "")
            if "compatible-with=" in value:
                wanted = errors._compat(value)
                if wanted not in (str(self.major), str(self.major - 1)):
                    raise errors.media_type(value, self.major)

    def _authenticate(self, headers: Mapping[str, str], uri: str) -> tuple[str, str]:
        """("api_key", id) or ("user", name), or a 401."""
        header = headers.get("authorization", "").strip()
        if not header:
            raise errors.missing_credentials(uri)
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        first, _, second = decoded.partition(":")
        if scheme.lower() == "apikey":
            if first in self.api_keys and self.api_keys[first] == second:
                return "api_key", first
            raise errors.bad_api_key(first or None, known=first in self.api_keys)
        if scheme.lower() == "basic":
            if first in self.users and self.users[first] == second:
                return "user", first
            if first:
                raise errors.bad_user(first, uri)
            raise errors.bad_api_key()
        raise errors.missing_credentials(uri)

    def _who(self, who: tuple[str, str]) -> str:
        kind, name = who
        if kind == "api_key":
            return f"API key id [{name}] of user [{self.key_owners.get(name, self.api_key_owner)}]"
        return f"user [{name}] with effective roles [{','.join(sorted(self.roles))}]"

    def _route(
        self,
        method: str,
        path: str,
        search: re.Match[str] | None,
        params: dict[str, str],
        body: bytes,
        who: tuple[str, str],
    ) -> tuple[int, Any]:
        if path == "/":
            if method not in ("GET", "HEAD"):
                raise EsError(405, {"type": "illegal_argument_exception",
                                    "reason": f"Incorrect HTTP method for uri [/] and method [{method}], "
                                    "allowed: [HEAD, GET]"})  # fmt: skip
            if (
                not self.cluster_monitor
            ):  # RestMainAction needs cluster:monitor/main (the list of granting privileges is abridged)
                raise EsError(403, {"type": "security_exception", "reason": (
                    f"action [cluster:monitor/main] is unauthorized for {self._who(who)}, "
                    "this action is granted by the cluster privileges [monitor,manage,all]")})  # fmt: skip
            return 200, self.info()
        if search is not None:
            if method not in ("GET", "POST"):
                raise EsError(405, {"type": "illegal_argument_exception",
                                    "reason": f"Incorrect HTTP method for uri [{path}] and method [{method}], "
                                    "allowed: [POST, GET]"})  # fmt: skip
            return 200, self._search(search.group("index") or "_all", params, _json_body(body), who)
        if path == "/_security/user/_has_privileges" and method in ("GET", "POST"):
            return 200, self._has_privileges(_json_body(body) or {}, who)
        if path == "/_security/_authenticate" and method == "GET":
            kind, name = who
            user = self.key_owners.get(name, self.api_key_owner) if kind == "api_key" else name
            answer: dict[str, Any] = {"username": user, "roles": [] if kind == "api_key" else self.roles,
                                      "authentication_type": "api_key" if kind == "api_key" else "realm"}  # fmt: skip
            if kind == "api_key":
                answer["api_key"] = {"id": name, "name": "kibana-chatops"}
            return 200, answer
        raise EsError(400, {"type": "illegal_argument_exception",
                            "reason": f"no handler found for uri [{path}] and method [{method}]"})  # fmt: skip

    def info(self) -> dict[str, Any]:
        """`GET /` (RestMainAction): node and cluster names, the version block and the tagline."""
        major = self.major
        wire = "7.17.0" if major == 8 else "8.18.0"
        index_compat = "7.0.0" if major == 8 else "8.0.0"
        lucene = "9.12.0" if major == 8 else "10.1.0"
        return {
            "name": "fake-node-0",
            "cluster_name": self.cluster_name,
            "cluster_uuid": self.cluster_uuid,
            "version": {
                "number": self.version,
                "build_flavor": "default",
                "build_type": "docker",
                "build_hash": "0" * 40,
                "build_date": "2024-12-11T12:08:05.663969764Z",
                "build_snapshot": False,
                "lucene_version": lucene,
                "minimum_wire_compatibility_version": wire,
                "minimum_index_compatibility_version": index_compat,
            },
            "tagline": "You Know, for Search",
        }

    # ------------------------------------------------------------------ indices
    def _indices(self) -> dict[str, tuple[str, bool]]:
        """Every concrete index and alias name -> (backing index, hidden)."""
        names: dict[str, tuple[str, bool]] = {}
        for rule_type_id, space in {(alert.rule_type_id, alert.space) for alert in self.alerts.values()}:
            alias = alias_for(rule_type_id, space)
            names[alias] = names[backing_index(alias)] = (backing_index(alias), True)
        for name in self.documents:
            names[name] = (name, name.startswith("."))
        return names

    def _resolve(self, expression: str, params: Mapping[str, str], who: tuple[str, str]) -> list[str]:
        """The backing indices an index expression names, with the security filtering of wildcards."""
        known = self._indices()
        expand = params.get("expand_wildcards", "open")
        ignore_unavailable = params.get("ignore_unavailable") == "true"
        parts = [p.strip() for p in expression.split(",") if p.strip()] or ["_all"]
        chosen: list[str] = []
        for part in parts:
            if part in ("_all", "*") or any(c in part for c in "*?"):
                pattern = "*" if part == "_all" else part
                for name, (backing, hidden) in known.items():
                    if not fnmatch.fnmatchcase(name, pattern):
                        continue
                    if hidden and not (pattern.startswith(".") or expand in ("all", "hidden") or "hidden" in expand):
                        continue
                    if self._is_alerts(backing) and self.alerts_read == "other_indices":
                        continue  # security silently drops unauthorized names from wildcards
                    chosen.append(backing)
            else:
                if part not in known:
                    if self._is_alerts(part) and self.alerts_read == "other_indices":
                        raise errors.search_denied(self._who(who), expression)
                    if ignore_unavailable:
                        continue
                    raise errors.index_not_found(part)
                backing = known[part][0]
                if self._is_alerts(backing) and self.alerts_read == "other_indices":
                    raise errors.search_denied(self._who(who), expression)
                chosen.append(backing)
        return list(dict.fromkeys(chosen))

    @staticmethod
    def _is_alerts(name: str) -> bool:
        return name.startswith((".alerts-", ".internal.alerts-"))

    def _search(
        self, expression: str, params: dict[str, str], body: dict[str, Any] | None, who: tuple[str, str]
    ) -> dict[str, Any]:
        if self.alerts_read == "none":
            raise errors.search_denied(self._who(who), expression)
        indices = self._resolve(expression, params, who)
        merged = merge_params(body, params)
        # A query that requires one space (a `term` in its top `bool`'s filter or must) cannot match an
        # alert of another: those are left out before their documents are rendered (speed, same hits).
        space = required_term(merged.get("query"), "kibana.space_ids")
        where: dict[tuple[str, str], str] = {}  # (rule type, space) -> backing index
        documents: list[Stored] = []
        for alert in self.alerts.values():
            if space is not None and alert.space != space and "kibana.space_ids" not in alert.extra:
                continue
            kind = (alert.rule_type_id, alert.space)
            index = where.get(kind)
            if index is None:
                index = where[kind] = alert.index
            if index in indices:
                documents.append(Stored(index, alert.uuid, alert.source()))
        for name, docs in self.documents.items():
            if name in indices:
                documents.extend(Stored(name, doc_id, source) for doc_id, source in docs.items())
        hits = run_search(merged, documents, indices[0] if indices else "")
        shards = len(indices)
        return {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0},
            "hits": hits,
        }

    def _has_privileges(self, body: dict[str, Any], who: tuple[str, str]) -> dict[str, Any]:
        """`_security/user/_has_privileges` for index privileges (cluster ones: `monitor` only)."""
        index_answer: dict[str, dict[str, bool]] = {}
        everything = True
        for entry in body.get("index", []):
            for name in entry.get("names", []):
                granted = self.alerts_read == "granted" or (
                    self.alerts_read == "other_indices" and not self._is_alerts(name.lstrip("*"))
                )
                result = {priv: granted for priv in entry.get("privileges", [])}
                index_answer[name] = result
                everything = everything and all(result.values())
        cluster = {priv: self.cluster_monitor and priv == "monitor" for priv in body.get("cluster", [])}
        everything = everything and all(cluster.values())
        kind, name = who
        return {
            "username": self.api_key_owner if kind == "api_key" else name,
            "has_all_requested": everything,
            "cluster": cluster,
            "index": index_answer,
            "application": {},
        }

    def _answer(
        self, record: RecordedRequest, status: int, payload: Any, accept: str, extra: list[tuple[str, str]]
    ) -> web.Response:
        body = b"" if payload is None or record.method == "HEAD" else json.dumps(payload).encode()
        if "compatible-with=" in accept:
            content_type = f"application/vnd.elasticsearch+json;compatible-with={errors._compat(accept)}"
        else:
            content_type = "application/json"
        response = web.Response(status=status, body=body or None)
        response.headers["X-elastic-product"] = "Elasticsearch"
        response.headers["content-type"] = content_type
        for name, value in extra:
            response.headers.add(name, value)
        self.exchanges.append(Exchange(record, status, {k.lower(): v for k, v in response.headers.items()}, body))
        return response


def _status_body(status: int) -> dict[str, Any]:
    reason = {500: "internal error", 502: "bad gateway", 503: "unavailable", 429: "rejected execution"}
    kind = "es_rejected_execution_exception" if status == 429 else "status_exception"
    return {"error": {"root_cause": [{"type": kind, "reason": reason.get(status, "error")}], "type": kind,
                      "reason": reason.get(status, "error")}, "status": status}  # fmt: skip


def _json_body(body: bytes) -> dict[str, Any] | None:
    if not body.strip():
        return None
    try:
        parsed = json.loads(body)
    except ValueError as error:
        detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise errors.x_content_parse(f"[1:1] Unexpected character: {detail}") from None
    if not isinstance(parsed, dict):
        raise errors.parsing("request body or source parameter is required")
    return parsed


def _try_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
