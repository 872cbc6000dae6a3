"""Typed errors raised by the Kibana client.

Each carries Kibana's own `statusCode`, `error` and `message` (Boom body,
reference/kibana/behaviours.md §1) plus the method and path that failed, so
`handlers/errors.py` can turn it into a sentence the user can act on.
"""

from __future__ import annotations


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


class KibanaConflict(KibanaError):
    """409: e.g. a stale case version."""

    status_code = 409


class KibanaNotAcceptable(KibanaError):
    """406: e.g. a case update that changes nothing."""

    status_code = 406


class KibanaPayloadTooLarge(KibanaError):
    status_code = 413


class KibanaRateLimited(KibanaError):
    status_code = 429


class KibanaServerError(KibanaError):
    """500/501 and other 5xx that are not 'unavailable'."""


class KibanaUnavailable(KibanaError):
    """Kibana could not be reached, timed out, or answered 502/503/504."""


class KibanaTimeout(KibanaUnavailable):
    """No answer within KIBANA_TIMEOUT."""
