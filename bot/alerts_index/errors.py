"""The typed errors of reading Kibana's alerts from Elasticsearch, each with a sentence that a
handler can show as it is (what happened, what to do)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from elasticsearch import ApiError, ConnectionError

ALERTS_INDEX = ".alerts-*"


class AlertsIndexError(Exception):
    """Reading the alerts from Elasticsearch failed; `sentence` says what happened and what to do."""

    status_code: int | None = None

    def __init__(self, sentence: str, *, status_code: int | None = None, reason: str | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        if status_code is not None:
            self.status_code = status_code
        self.reason = reason


class AlertsIndexUnreachable(AlertsIndexError):
    """No answer: connection refused or dropped, DNS, TLS, or a timeout."""


class AlertsIndexUnavailable(AlertsIndexError):
    """Elasticsearch answered 5xx or 429: try again later."""


class AlertsIndexUnauthorized(AlertsIndexError):
    """401: the credentials are missing, wrong, expired or revoked."""

    status_code = 401


class AlertsIndexForbidden(AlertsIndexError):
    """403: the credentials lack a privilege; `privileges`/`indices`/`who` come from Elasticsearch's reason."""

    status_code = 403

    def __init__(
        self,
        sentence: str,
        *,
        reason: str | None = None,
        action: str | None = None,
        who: str | None = None,
        indices: str | None = None,
        privileges: Sequence[str] = (),
    ) -> None:
        super().__init__(sentence, status_code=403, reason=reason)
        self.action = action
        self.who = who
        self.indices = indices
        self.privileges = list(privileges)


class AlertsIndexRejected(AlertsIndexError):
    """Any other 4xx, or an answer the bot could not read (a bug on this side, or an incompatible server)."""


# AuthorizationDenialMessages.Default#actionDenied (x-pack security), with AuthorizationService's
# "on indices [...]" context and IndexPrivilege.findPrivilegesThatGrant.
_DENIAL = re.compile(
    r"action \[(?P<action>[^\]]+)\] (?:towards remote cluster \S* )?is unauthorized for (?P<who>.+?)"
    r"(?: on indices \[(?P<indices>[^\]]*)\])?"
    r"(?:, this action is granted by the (?:index|cluster) privileges \[(?P<privileges>[^\]]*)\])?$"
)


def _reason(error: ApiError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("reason"), str):
            return str(inner["reason"])
        if isinstance(inner, str):
            return inner
    return str(error.message)


def translate(error: Exception, *, url: str, index: str = ALERTS_INDEX) -> AlertsIndexError:
    """The typed error for an exception of the official client."""
    from elasticsearch import (
        ApiError,
        AuthenticationException,
        AuthorizationException,
        ConnectionError,
        ConnectionTimeout,
        TransportError,
    )

    if isinstance(error, ConnectionTimeout):
        return AlertsIndexUnreachable(
            f"Elasticsearch at {url} did not answer in time; alerts will be read when it does"
        )
    if isinstance(error, ConnectionError):
        return AlertsIndexUnreachable(f"Elasticsearch at {url} cannot be reached ({_connection_detail(error)})")
    if isinstance(error, AuthenticationException):
        return AlertsIndexUnauthorized(
            "Elasticsearch rejected the bot's credentials (401): check ELASTICSEARCH_API_KEY (or KIBANA_API_KEY, "
            "used when it is unset)",
            reason=_reason(error),
        )
    if isinstance(error, AuthorizationException):
        return forbidden(_reason(error), index=index)
    if isinstance(error, ApiError):
        status = error.status_code
        if status == 429 or status >= 500:
            return AlertsIndexUnavailable(
                f"Elasticsearch answered {status} ({_reason(error)}); alerts will be read when it recovers",
                status_code=status,
                reason=_reason(error),
            )
        return AlertsIndexRejected(
            f"Elasticsearch refused the alerts search ({status}: {_reason(error)})",
            status_code=status,
            reason=_reason(error),
        )
    if isinstance(error, TransportError):
        return AlertsIndexUnreachable(f"Elasticsearch at {url} cannot be reached ({type(error).__name__})")
    return AlertsIndexRejected(f"Elasticsearch's answer could not be read ({type(error).__name__})")


def forbidden(reason: str, *, index: str = ALERTS_INDEX) -> AlertsIndexForbidden:
    """A 403's sentence: who lacks which privilege on which indices, in words."""
    found = _DENIAL.search(reason)
    if found is None:
        return AlertsIndexForbidden(f"Elasticsearch refused to let the bot read {index} (403): {reason}", reason=reason)
    privileges = [p.strip() for p in (found.group("privileges") or "").split(",") if p.strip()]
    indices = found.group("indices") or index
    needed = " or ".join(f"`{p}`" for p in privileges if p != "all") or "`read`"
    who = found.group("who")
    sentence = (
        f"the bot's Elasticsearch credentials ({who}) may not read {indices}: give them the index privilege "
        f"{needed} on `{ALERTS_INDEX}` (Elasticsearch refused {found.group('action')})"
    )
    return AlertsIndexForbidden(
        sentence, reason=reason, action=found.group("action"), who=who, indices=indices, privileges=privileges
    )


def _connection_detail(error: ConnectionError) -> str:
    text = str(error.message or "")
    if "Cannot connect" in text or "Connect call failed" in text or "refused" in text.lower():
        return "connection refused"
    if "certificate" in text.lower() or "SSL" in text:
        return "TLS certificate not trusted: set ELASTICSEARCH_CA_CERT"
    return "connection failed"
