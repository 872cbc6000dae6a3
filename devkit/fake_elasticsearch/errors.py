"""Elasticsearch's error bodies, as the REST layer writes them.

Every error answer is `{"error": {"root_cause": [...], "type", "reason", ...}, "status": N}`
(ElasticsearchException#generateFailureXContent, BytesRestResponse in the server module). Where
each message comes from is said next to it; the wording is copied from Elasticsearch 8.x/9.x.
"""

from __future__ import annotations

from typing import Any

# x-pack/plugin/security …/authc/DefaultAuthenticationFailureHandler: one WWW-Authenticate header
# per enabled scheme (Bearer only when the token service is on, which needs TLS on HTTP; not here).
WWW_AUTHENTICATE = ('Basic realm="security", charset="UTF-8"', "ApiKey")
# IndexPrivilege.findPrivilegesThatGrant("indices:data/read/search"), as AuthorizationDenialMessages prints it.
SEARCH_ACTION = "indices:data/read/search"
SEARCH_PRIVILEGES = "read,all"


class EsError(Exception):
    """An error answer: `status`, the error object, and extra response headers."""

    def __init__(
        self,
        status: int,
        error: dict[str, Any],
        *,
        root_cause: list[dict[str, Any]] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(error.get("reason"))
        self.status = status
        self.error = error
        self.root_cause = root_cause
        self.headers: list[tuple[str, str]] = list(headers or [])

    def body(self) -> dict[str, Any]:
        causes = self.root_cause
        if causes is None:
            causes = [{k: v for k, v in self.error.items() if k not in ("caused_by", "failed_shards")}]
        return {"error": {"root_cause": causes, **self.error}, "status": self.status}


def parsing(reason: str, line: int = 1, col: int = 1) -> EsError:
    """`parsing_exception` (org.elasticsearch.common.ParsingException): query DSL parse errors."""
    return EsError(400, {"type": "parsing_exception", "reason": reason, "line": line, "col": col})


def x_content_parse(reason: str) -> EsError:
    """`x_content_parse_exception` (ObjectParser: "[1:2] [search_source] unknown field [x]" style)."""
    return EsError(400, {"type": "x_content_parse_exception", "reason": reason})


def illegal_argument(reason: str) -> EsError:
    return EsError(400, {"type": "illegal_argument_exception", "reason": reason})


def shard_failure(reason: str, index: str, error_type: str = "illegal_argument_exception") -> EsError:
    """A failure raised on every shard (search_after checks, the result window): Elasticsearch
    wraps it in `search_phase_execution_exception` "all shards failed" (SearchPhaseExecutionException),
    status 400 from the cause; root_cause is the shard's cause."""
    cause = {"type": error_type, "reason": reason}
    return EsError(
        400,
        {
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "query",
            "grouped": True,
            "failed_shards": [{"shard": 0, "index": index, "node": "fake-node-0", "reason": cause}],
            "caused_by": cause,
        },
        root_cause=[{**cause, "index_uuid": "fake-uuid", "index": index}] if index else [cause],
    )


def index_not_found(name: str) -> EsError:
    """IndexNotFoundException: "no such index [x]" (404)."""
    return EsError(
        404,
        {
            "type": "index_not_found_exception",
            "reason": f"no such index [{name}]",
            "resource.type": "index_or_alias",
            "resource.id": name,
            "index_uuid": "_na_",
            "index": name,
        },
    )


def unauthenticated(reason: str, additional: str | None = None) -> EsError:
    """401 `security_exception` with the WWW-Authenticate challenge, which Elasticsearch also copies
    into the error object as `header` (ElasticsearchSecurityException headers); `additional` is the
    `additional_unsuccessful_credentials` metadata of AuthenticatorChain."""
    header = {"WWW-Authenticate": list(WWW_AUTHENTICATE)}
    error: dict[str, Any] = {"type": "security_exception", "reason": reason}
    if additional:
        error["additional_unsuccessful_credentials"] = additional
    error["header"] = header
    return EsError(401, error, headers=[("WWW-Authenticate", value) for value in WWW_AUTHENTICATE])


def missing_credentials(uri: str) -> EsError:
    """authc/AuthenticatorChain (Exceptions.authenticationError, via DefaultAuthenticationFailureHandler
    #missingToken): "missing authentication credentials for REST request [<uri with query>]"."""
    return unauthenticated(f"missing authentication credentials for REST request [{uri}]")


def bad_user(username: str, uri: str) -> EsError:
    """authc/RealmsAuthenticator: "unable to authenticate user [u] for REST request [<uri>]"."""
    return unauthenticated(f"unable to authenticate user [{username}] for REST request [{uri}]")


def bad_api_key(key_id: str | None = None, *, known: bool = False) -> EsError:
    """authc/AuthenticatorChain when an API key is presented and refused (no anonymous access):
    "unable to authenticate with provided credentials and anonymous access is not allowed for this
    request", with ApiKeyService's reason as additional_unsuccessful_credentials ("unable to find
    apikey with id x" / "invalid credentials for API key [x]")."""
    detail = None
    if key_id:
        detail = (
            f"API key: invalid credentials for API key [{key_id}]"
            if known
            else (f"API key: unable to find apikey with id {key_id}")
        )
    return unauthenticated(
        "unable to authenticate with provided credentials and anonymous access is not allowed for this request",
        detail,
    )


def search_denied(who: str, indices: str) -> EsError:
    """authz/AuthorizationDenialMessages.Default#actionDenied with AuthorizationService's
    "on indices [...]" context: "action [indices:data/read/search] is unauthorized for <who> on indices
    [...], this action is granted by the index privileges [read,all]". `who` is "user [u] with effective
    roles [r]" or "API key id [id] of user [u]" (API keys have no roles to print)."""
    reason = (
        f"action [{SEARCH_ACTION}] is unauthorized for {who} on indices [{indices}], "
        f"this action is granted by the index privileges [{SEARCH_PRIVILEGES}]"
    )
    return EsError(403, {"type": "security_exception", "reason": reason})


def media_type(accept: str, server_major: int) -> EsError:
    """RestCompatibleVersionHelper: a client asking for `compatible-with=N` that the server does not
    speak (an 8.x server speaks 7 and 8; a 9.x server 8 and 9)."""
    low = server_major - 1
    cause = {
        "type": "status_exception",
        "reason": f"Accept version must be either version {server_major} or {low}, but found "
        f"{_compat(accept)}. Accept={accept}",
    }
    error = {
        "type": "media_type_header_exception",
        "reason": "Invalid media-type value on headers [Accept, Content-Type]",
        "caused_by": cause,
    }
    return EsError(400, error, root_cause=[{k: error[k] for k in ("type", "reason")}])


def _compat(header: str) -> str:
    _, _, rest = header.partition("compatible-with=")
    return rest.split(";")[0].strip()
