"""One pooled HTTP connection to Kibana: auth, spaces, headers, errors and retries.

`KibanaConnection.call` sends one logical request (possibly several HTTP exchanges,
see `retry.py`) and returns the successful `Answer` or raises a typed `KibanaError`.
The public, per-endpoint API is `client.KibanaClient`; how bytes travel is `transport.py`.
"""

from __future__ import annotations

import base64
import json as jsonlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ValidationError

from bot.identifiers import is_space_id

from .acting import KibanaNotLinked, PersonForbidden, PersonKeyRejected, acting
from .errors import KibanaForbidden, KibanaInvalidInput, KibanaResponseInvalid, KibanaUnauthorized, error_from_response
from .privileges import needed
from .retry import RetryPolicy, error_from_transport, parse_retry_after
from .transport import AiohttpSender, Answer, HttpxSender, Outgoing, Sender, Timeouts, TransportFailure

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

Observer = Callable[[str, str, int | None, float], None]
"""observer(method, route_template, status or None, seconds), after every HTTP exchange."""

QueryValue = str | int | float | bool | list[str] | None
M = TypeVar("M", bound=BaseModel)

MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 30.0
# How long a call waits for one of the MAX_CONNECTIONS when a burst outruns a slow Kibana
# (1,000 mutes at 2 s each take 20 s through 100 connections): long enough that a burst
# is worked off rather than failed, bounded so that a stuck Kibana still gives an answer.
# aiohttp's pool queues the waiting calls (in O(1) per event) and bounds the wait.
CONNECTION_WAIT_SECONDS = 60.0
XSRF_VALUE = "kibana-chatops"
APM_API_VERSION = "2023-10-31"
DEFAULT_SPACE = "default"
_WHAT = {
    "rule_id": "rule id",
    "ruleId": "rule id",
    "alert_id": "alert id",
    "caseId": "case id",
    "scheduleId": "snooze schedule id",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


def space_prefix(space: str) -> str:
    """`""` for the default space, else `/s/{space}`; refuses ids Kibana cannot have."""
    if not is_space_id(space):
        raise KibanaInvalidInput(f"{space!r} is not a Kibana space id (a-z, 0-9, _ and -)", space=space)
    return "" if space == DEFAULT_SPACE else f"/s/{space}"


def basic_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def path_segment(value: str, what: str) -> str:
    """`value` percent-encoded as one path segment."""
    if not value or not value.strip() or value in {".", ".."}:
        raise KibanaInvalidInput(f"{value!r} is not a valid {what}")
    return quote(value, safe="")


class KibanaConnection:
    """The HTTP connection pool shared by every call of one process, with Kibana's conventions."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        username: str | None,
        password: str | None,
        default_space: str,
        timeout: float,
        verify: bool | str,
        transport: httpx.AsyncBaseTransport | None,
        retry: RetryPolicy,
        observer: Observer | None,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ValueError("base_url must be an http(s) URL such as http://localhost:5601")
        if url.username is not None or url.password is not None:
            raise ValueError("base_url must not contain credentials; pass username/password or api_key")
        if url.query or url.fragment:
            raise ValueError("base_url must not have a query or a fragment, such as http://localhost:5601")
        space_prefix(default_space)
        self.base_url = url.geturl().rstrip("/")
        self.default_space = default_space
        self.timeout = timeout
        self.pool_wait = max(timeout, CONNECTION_WAIT_SECONDS)
        self.retry = retry
        self.observer = observer
        headers = {"User-Agent": "kibana-chatops", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"ApiKey {api_key}"
            self.auth_scheme = "ApiKey"
        elif username:
            headers["Authorization"] = basic_header(username, password or "")
            self.auth_scheme = "Basic"
        else:
            self.auth_scheme = "none"
        timeouts = Timeouts(connect=timeout, read=timeout, pool=self.pool_wait)
        self.sender: Sender
        if transport is None:
            # An http:// Kibana never uses TLS (the client follows no redirects), so it gets no CA
            # bundle: loading certifi's takes about 30 ms of start-up. https:// gets the settings'.
            tls = tls_context(verify) if url.scheme == "https" else False
            self.sender = AiohttpSender(
                verify=tls, timeouts=timeouts, max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_SECONDS
            )
        else:
            self.sender = HttpxSender(transport, timeouts)
        self.headers = {**headers, "Accept-Encoding": "gzip, deflate"}

    def space(self, space: str | None) -> str:
        return self.default_space if space is None else space

    async def call(
        self,
        method: str,
        route: str,
        *,
        path_params: Mapping[str, str] | None = None,
        space: str | None,
        idempotent: bool,
        query: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        apm: bool = False,
        basic_auth: tuple[str, str] | None = None,
    ) -> Answer:
        """Send `method route` in `space`, retrying as `RetryPolicy` allows. `basic_auth`
        replaces the connection's credentials for this one call. Inside a person's request
        (`acting.acting_for`), the call carries that person's own key, and nothing else."""
        space_id = self.space(space)
        path = space_prefix(space_id) + _fill(route, path_params or {})
        headers = dict(self.headers)
        person = acting()
        if person is not None:
            if person.key is None:
                raise KibanaNotLinked(person.user_id)
            headers["Authorization"] = f"ApiKey {person.key.api_key.get_secret_value()}"
        elif basic_auth is not None:
            headers["Authorization"] = basic_header(*basic_auth)
        if method != "GET":
            headers["kbn-xsrf"] = XSRF_VALUE
        if apm:
            headers["elastic-api-version"] = APM_API_VERSION
        body = None
        if json is not None:
            # As httpx encodes JSON: compact, UTF-8, no NaN.
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        elif data is not None or files is not None:
            body, headers["Content-Type"] = _form(data, files)
        query_string = _query(query) if query else ""
        url = self.base_url + path + (f"?{query_string}" if query_string else "")
        request = Outgoing(method, url, path, headers, body)
        if person is None or person.key is None:
            return await self.retry.run(lambda: self._exchange(request, route, space_id), idempotent=idempotent)
        try:
            return await self.retry.run(lambda: self._exchange(request, route, space_id), idempotent=idempotent)
        except KibanaUnauthorized as rejected:
            await person.rejected()
            raise PersonKeyRejected(person.key, rejected) from None
        except KibanaForbidden as refused:
            raise PersonForbidden(person.key, needed(method, route, space_id), refused) from None

    async def _exchange(self, request: Outgoing, route: str, space: str) -> Answer:
        started = time.perf_counter()  # observed: the exchange, with any wait for a pooled connection
        method, path = request.method, request.path
        try:
            answer = await self.sender.send(request)
        except TransportFailure as exc:
            self._observe(method, route, None, time.perf_counter() - started)
            raise error_from_transport(
                exc, method=method, path=path, space=space, timeout=self.timeout, pool_wait=self.pool_wait
            ) from None
        seconds = time.perf_counter() - started
        self._observe(method, route, answer.status_code, seconds)
        log.debug("Kibana answered %d to %s %s in %.0f ms", answer.status_code, method, path, seconds * 1000)
        if answer.is_success:
            return answer
        raise error_from_response(
            answer.status_code,
            answer.content,
            reason=answer.reason_phrase,
            method=method,
            path=path,
            space=space,
            retry_after=parse_retry_after(answer.headers.get("retry-after")),
        ) from None

    def _observe(self, method: str, route: str, status: int | None, seconds: float) -> None:
        if self.observer is None:
            return
        try:
            self.observer(method, route, status, seconds)
        except Exception:
            log.exception("the Kibana call observer failed")

    async def aclose(self) -> None:
        await self.sender.aclose()


def parse_body(model: type[M], response: Answer, *, space: str | None, key: str | None = None) -> M:
    """Read a successful answer into `model` (optionally from one top-level `key`)."""
    try:
        payload = response.json()
        if key is not None:
            payload = payload[key]
        return model.model_validate(payload)
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise unreadable(response, exc, space=space) from None


def unreadable(response: Answer, exc: Exception, *, space: str | None) -> KibanaResponseInvalid:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False, include_url=False)[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    else:
        detail = type(exc).__name__
    return KibanaResponseInvalid(
        f"Kibana answered {response.status_code} with a body the bot could not read ({detail})",
        status_code=response.status_code,
        method=response.method,
        path=response.path,
        space=space,
    )


def _fill(route: str, params: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        what = _WHAT.get(name) or ("rule id" if route.startswith("/api/alerting/") else "source map id")
        return path_segment(params[name], what)

    return _PLACEHOLDER.sub(one, route)


def _query(query: Mapping[str, QueryValue]) -> str:
    """The query string ("" when every value is None); spaces as %20, like httpx."""
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            pairs.append((name, ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return urlencode(pairs, quote_via=quote)


def _form(data: Mapping[str, str] | None, files: Mapping[str, tuple[str, bytes, str]] | None) -> tuple[bytes, str]:
    """A form body (multipart when there are files) and its content type, encoded by httpx
    (only source map uploads send forms, so httpx is imported when one is sent)."""
    import httpx

    request = httpx.Request("POST", "http://kibana", data=data, files=files)
    return request.read(), request.headers["content-type"]


def tls_context(verify: bool | str) -> bool | ssl.SSLContext:
    """aiohttp's `ssl`: certifi's CA bundle (as httpx used), a CA file, or no verification."""
    if verify is False:
        return False
    import certifi

    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else certifi.where())
