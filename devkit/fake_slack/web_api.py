"""The Web API front door: parse a call like Slack does, check the token and its scopes (scopes.py),
inject faults.

Slack accepts a method's arguments as query parameters, form fields or a JSON body
(slack_sdk's AsyncWebClient uses all three), and JSON-valued arguments (`blocks`,
`view`) either as objects or as JSON strings inside form fields.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from devkit.fake_slack.records import ApiCall, SlackApiFailure
from devkit.fake_slack.scopes import METHOD_SCOPES, Grant

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack

Handler = Callable[["FakeSlack", dict[str, Any]], Awaitable[dict[str, Any]]]
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query, form and JSON arguments merged (body wins over query)."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise SlackApiFailure("invalid_json") from exc
            if not isinstance(body, dict):
                raise SlackApiFailure("invalid_json")
            params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def bearer_token(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    token = params.pop("token", None)
    return token if isinstance(token, str) else None


def json_argument(params: dict[str, Any], name: str, error: str) -> Any:
    """An argument that may arrive as a JSON object or as a JSON string (form field)."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackApiFailure(error) from exc
    return value


def required(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackApiFailure("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])


def check_token(fake: FakeSlack, method: str, token: str | None) -> Grant:
    """The scopes of the call's token, or Slack's error for a missing, unknown or wrong kind of token."""
    if not token:
        raise SlackApiFailure("not_authed")
    app = method in APP_TOKEN_METHODS
    if token == (fake.app_token if app else fake.bot_token):
        return fake.app_scopes if app else fake.bot_scopes
    execution = None if app else fake.functions.by_token(token)
    if execution is not None:  # a step's own token (function_executed's bot_access_token): the bot's scopes
        if execution.state != "running":
            raise SlackApiFailure("token_expired")
        execution.calls.append(method)
        return fake.bot_scopes
    if token in (fake.app_token, fake.bot_token):
        raise SlackApiFailure("not_allowed_token_type")
    raise SlackApiFailure("invalid_auth")


async def handle_call(fake: FakeSlack, request: web.Request) -> web.Response:
    """aiohttp handler for `/api/{method}`: every call is answered and recorded."""
    method = request.match_info["method"]
    params: dict[str, Any] = {}
    token: str | None = None
    headers: dict[str, str] = {}
    try:
        params = await read_params(request)
        token = bearer_token(request, params)
        fault = fake.take_fault(method)
        if fault is not None:
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            raise SlackApiFailure(fault.error, status=fault.status)
        handler = fake.handlers.get(method)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        grant = check_token(fake, method, token)
        accepted = METHOD_SCOPES.get(method, ())
        headers["x-oauth-scopes"] = grant.header()
        headers["x-accepted-oauth-scopes"] = ",".join(accepted)
        if fake.rate_limiter is not None:
            retry_after = fake.rate_limiter.admit(method, _channel(params))
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
                raise SlackApiFailure("ratelimited", status=429)
        grant.require(*accepted)
        status, body = 200, await handler(fake, params)
    except SlackApiFailure as failure:
        status, body = failure.status, failure.body()
    fake.calls.append(ApiCall(method, params, token, status, body, http_method=request.method))
    return web.json_response(body, status=status, headers=headers)


def _channel(params: dict[str, Any]) -> str | None:
    channel = params.get("channel")
    return channel if isinstance(channel, str) and channel else None
