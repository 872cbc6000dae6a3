"""Typed errors raised by the Kibana client.

Each carries Kibana's own `statusCode`, `error` and `message` (Boom body,
reference/kibana/behaviours.md §1) plus the method and path that failed, so
`handlers/shared/errors.py` can turn it into a sentence the user can act on.
"""

from __future__ import annotations

import json


class KibanaError(Exception):
    """Base class: something went wrong talking to Kibana."""

    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        method: str | None = None,
        path: str | None = None,
        space: str | None = None,
        attributes: object | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.error = error
        self.method = method
        self.path = path
        self.space = space
        self.attributes = attributes

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        status = f"{self.status_code} " if self.status_code else ""
        return f"{status}{self.message}{where}"


class KibanaBadRequest(KibanaError):
    status_code = 400


class KibanaUnauthorized(KibanaError):
    """401: the credentials are missing, wrong or revoked."""

    status_code = 401


class KibanaForbidden(KibanaError):
    """403: the credentials lack a Kibana privilege."""

    status_code = 403


class KibanaNotFound(KibanaError):
    status_code = 404


class KibanaRouteNotFound(KibanaNotFound):
    """A bare 404 (`{"statusCode":404,"error":"Not Found","message":"Not Found"}`): Kibana's router has
    no such route, e.g. the snooze API before 8.19 or on 9.0 (behaviours.md §11). A missing object is
    named instead (`Saved object [alert/<id>] not found`)."""


class KibanaConflict(KibanaError):
    """409: e.g. a stale case version."""

    status_code = 409


class KibanaNotAcceptable(KibanaError):
    """406: e.g. a case update that changes nothing."""

    status_code = 406


class KibanaPayloadTooLarge(KibanaError):
    status_code = 413


class KibanaRateLimited(KibanaError):
    """429 that outlasted the retries; `retry_after` is Kibana's hint in seconds, if any."""

    status_code = 429
    retry_after: float | None = None


class KibanaServerError(KibanaError):
    """500/501 and other 5xx that are not 'unavailable'."""


class KibanaUnavailable(KibanaError):
    """Kibana could not be reached, timed out, or answered 502/503/504.

    `request_sent` is False only when the request provably never left this process
    (connection refused, connect timeout): then a write certainly did not happen.
    When True, a write (e.g. a case) may or may not have been applied by Kibana.
    """

    request_sent: bool = True


class KibanaTimeout(KibanaUnavailable):
    """No answer within KIBANA_TIMEOUT."""


class KibanaInvalidInput(KibanaBadRequest, ValueError):
    """Refused before sending: an argument Kibana would reject (bad space id, duration…)."""

    status_code = None  # type: ignore[assignment]  # nothing was sent, so there is no status


class KibanaResponseInvalid(KibanaError):
    """Kibana answered with success, but with a body the client could not read."""


# --- building errors from what Kibana answered ------------------------------------------

_BY_STATUS: dict[int, type[KibanaError]] = {
    400: KibanaBadRequest,
    401: KibanaUnauthorized,
    403: KibanaForbidden,
    404: KibanaNotFound,
    406: KibanaNotAcceptable,
    409: KibanaConflict,
    413: KibanaPayloadTooLarge,
    429: KibanaRateLimited,
    502: KibanaUnavailable,
    503: KibanaUnavailable,
    504: KibanaUnavailable,
}

_MAX_TEXT = 300


def error_class_for_status(status: int) -> type[KibanaError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return KibanaServerError
    return KibanaError


def error_from_response(
    status: int,
    body: bytes,
    *,
    reason: str,
    method: str,
    path: str,
    space: str | None,
    retry_after: float | None = None,
) -> KibanaError:
    """Turn a non-2xx answer into the typed error, keeping Kibana's Boom fields.

    Bodies that are not Kibana's JSON error shape (an HTML page from a proxy, plain
    text, nothing) still give a readable message: the start of the text or the reason.
    """
    message: str | None = None
    error_name: str | None = None
    attributes: object | None = None
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        raw_message = payload.get("message")
        message = raw_message if isinstance(raw_message, str) and raw_message else None
        raw_error = payload.get("error")
        error_name = raw_error if isinstance(raw_error, str) else None
        attributes = payload.get("attributes")
    if message is None:
        text = body.decode("utf-8", "replace").strip()
        message = " ".join(text.split())[:_MAX_TEXT] if text and payload is None else (reason or str(status))
    cls = error_class_for_status(status)
    if status == 404 and message == "Not Found" and error_name in (None, "Not Found"):
        cls = KibanaRouteNotFound
    exc = cls(
        message,
        status_code=status,
        error=error_name or reason or None,
        method=method,
        path=path,
        space=space,
        attributes=attributes,
    )
    if isinstance(exc, KibanaRateLimited):
        exc.retry_after = retry_after
    return exc
