"""Typed errors, unreadable bodies, secrets and the retry policy, on a scripted transport."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bot.kibana import (
    CaseCreate,
    KibanaBadRequest,
    KibanaConflict,
    KibanaError,
    KibanaForbidden,
    KibanaNotAcceptable,
    KibanaNotFound,
    KibanaPayloadTooLarge,
    KibanaRateLimited,
    KibanaResponseInvalid,
    KibanaServerError,
    KibanaTimeout,
    KibanaUnauthorized,
    KibanaUnavailable,
)
from bot.kibana.retry import parse_retry_after

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, KibanaBadRequest),
        (401, KibanaUnauthorized),
        (403, KibanaForbidden),
        (404, KibanaNotFound),
        (406, KibanaNotAcceptable),
        (409, KibanaConflict),
        (413, KibanaPayloadTooLarge),
        (429, KibanaRateLimited),
        (500, KibanaServerError),
        (501, KibanaServerError),
        (502, KibanaUnavailable),
        (503, KibanaUnavailable),
        (504, KibanaUnavailable),
    ],
)
async def test_status_maps_to_typed_error_with_kibana_fields(kit: Any, status: int, error_class: type) -> None:
    script = kit.Script(kit.boom(status, REASONS[status], f"message {status}", attributes={"data": None}))
    client = kit.client(script, retry=kit.retry(attempts=1))

    with pytest.raises(error_class) as caught:
        await client.get_rule("r1", space="ops")

    error = caught.value
    assert (error.status_code, error.error, error.message) == (status, REASONS[status], f"message {status}")
    assert (error.method, error.path, error.space) == ("GET", "/s/ops/api/alerting/rule/r1", "ops")
    assert error.attributes == {"data": None}
    assert str(error) == f"{status} message {status} (GET /s/ops/api/alerting/rule/r1)"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html><body>502 Bad   Gateway\n</body></html>", "text/html", "<html><body>502 Bad Gateway </body></html>"),
        (b"", "text/plain", "Service Unavailable"),
        (b"upstream connect error", "text/plain", "upstream connect error"),
        (b'{"unexpected": true}', "application/json", "Service Unavailable"),
        (b'["a list"]', "application/json", "Service Unavailable"),
    ],
)
async def test_non_kibana_error_bodies_still_give_a_message(
    kit: Any, body: bytes, content_type: str, expected: str
) -> None:
    status = 502 if body.startswith(b"<html>") else 503
    script = kit.Script(httpx.Response(status, content=body, headers={"content-type": content_type}))
    client = kit.client(script, retry=kit.retry(attempts=1))

    with pytest.raises(KibanaUnavailable) as caught:
        await client.health()

    assert caught.value.status_code == status
    assert caught.value.message == (expected if status == 503 else expected.strip())
    assert caught.value.request_sent is True


async def test_unreadable_success_body_is_a_typed_error(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, content=b"<html>login page</html>"), httpx.Response(200, json={"id": 7}))
    client = kit.client(script)

    with pytest.raises(KibanaResponseInvalid, match="could not read"):
        await client.get_rule("r1")
    with pytest.raises(KibanaResponseInvalid, match="id"):
        await client.get_rule("r1")


@pytest.mark.parametrize(
    ("failure", "error_class", "sent"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), KibanaUnavailable, False),
        (httpx.ConnectTimeout("timed out"), KibanaTimeout, False),
        (httpx.ReadTimeout("timed out"), KibanaTimeout, True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), KibanaUnavailable, True),
        (httpx.ReadError("connection reset"), KibanaUnavailable, True),
    ],
)
async def test_transport_failures_never_carry_credentials(
    kit: Any, failure: httpx.TransportError, error_class: type, sent: bool
) -> None:
    script = kit.Script(failure)
    client = kit.client(script, retry=kit.retry(attempts=1))
    basic = kit.client(script, api_key=None, username="elastic", password=kit.password, retry=kit.retry(attempts=1))

    for each in (client, basic):
        with pytest.raises(error_class) as caught:
            await each.get_rule("r1")
        error = caught.value
        assert error.request_sent is sent
        assert error.status_code is None
        assert error.__cause__ is None and error.__suppress_context__
        printed = "".join(traceback.format_exception(error)) + repr(error) + str(vars(error))
        for secret in (kit.api_key, kit.password, "ApiKey", "Basic"):
            assert secret not in printed


async def test_http_errors_never_carry_credentials(kit: Any) -> None:
    script = kit.Script(kit.boom(401, "Unauthorized", "[security_exception] unable to authenticate user [elastic]"))
    client = kit.client(script, api_key=None, username="elastic", password=kit.password)

    with pytest.raises(KibanaUnauthorized) as caught:
        await client.health()

    printed = "".join(traceback.format_exception(caught.value)) + repr(caught.value) + str(vars(caught.value))
    assert kit.password not in printed and "Basic" not in printed


def test_retry_after_values() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert 25 < (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- retry policy ------------------------------------------------------------------------


async def test_idempotent_call_survives_a_503(kit: Any) -> None:
    script = kit.Script(kit.boom(503, "Service Unavailable", "busy"), httpx.Response(200, json=kit.rule_body))
    client = kit.client(script)

    rule = await client.get_rule("r1")

    assert rule.id == "rule-1" and len(script.requests) == 2


async def test_retries_are_bounded_by_attempts(kit: Any) -> None:
    script = kit.Script(kit.boom(502, "Bad Gateway", "proxy"))
    client = kit.client(script, retry=kit.retry(attempts=3))

    with pytest.raises(KibanaUnavailable):
        await client.mute_all("r1")

    assert len(script.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
async def test_definite_answers_are_not_retried(kit: Any, status: int) -> None:
    script = kit.Script(kit.boom(status, REASONS[status], "no"))
    client = kit.client(script)

    with pytest.raises(KibanaError):
        await client.disable_rule("r1")

    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.Response(503, json={"statusCode": 503, "error": "Service Unavailable", "message": "x"}),
        httpx.Response(429, headers={"retry-after": "0"}),
    ],
)
async def test_case_creation_is_not_resent_once_it_may_have_arrived(kit: Any, failure: Any) -> None:
    script = kit.Script(failure, httpx.Response(200, json=kit.case_body))
    client = kit.client(script)

    with pytest.raises(KibanaError) as caught:
        await client.create_case(CaseCreate(title="t", description="d"))

    assert len(script.requests) == 1
    if isinstance(caught.value, KibanaUnavailable):
        assert caught.value.request_sent is True


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("timed out")])
async def test_case_creation_is_retried_when_it_never_left(kit: Any, failure: Exception) -> None:
    script = kit.Script(failure, httpx.Response(200, json=kit.case_body))
    client = kit.client(script)

    case = await client.create_case(CaseCreate(title="t", description="d"))

    assert case.id == "case-1" and len(script.requests) == 2


@pytest.mark.parametrize(
    ("overwrite", "expected_requests"),
    [(True, 2), (False, 1)],
)
async def test_agent_configuration_is_retried_only_with_overwrite(
    kit: Any, overwrite: bool, expected_requests: int
) -> None:
    script = kit.Script(kit.boom(503, "Service Unavailable", "x"), httpx.Response(200, json={}))
    client = kit.client(script)

    if overwrite:
        await client.put_agent_configuration("api", None, {"a": "b"}, overwrite=True)
    else:
        with pytest.raises(KibanaUnavailable):
            await client.put_agent_configuration("api", None, {"a": "b"})

    assert len(script.requests) == expected_requests


async def test_unsnooze_is_not_retried_after_reaching_kibana(kit: Any) -> None:
    script = kit.Script(kit.boom(504, "Gateway Timeout", "x"), httpx.Response(204))
    client = kit.client(script)

    with pytest.raises(KibanaUnavailable):
        await client.unsnooze_rule("r1", "s1")

    assert len(script.requests) == 1


async def test_rate_limit_beyond_the_retry_budget_gives_up_at_once(kit: Any) -> None:
    script = kit.Script(httpx.Response(429, headers={"retry-after": "3600"}), httpx.Response(204))
    client = kit.client(script, retry=kit.retry(retry_after_max=5000, timeout=2))

    with pytest.raises(KibanaRateLimited) as caught:
        await client.enable_rule("r1")

    assert caught.value.retry_after == 3600
    assert len(script.requests) == 1


async def test_rate_limit_wait_is_capped(kit: Any) -> None:
    script = kit.Script(httpx.Response(429, headers={"retry-after": "3600"}), httpx.Response(204))
    client = kit.client(script, retry=kit.retry(retry_after_max=0.01))

    await client.enable_rule("r1")

    assert len(script.requests) == 2


async def test_rate_limited_after_all_attempts(kit: Any) -> None:
    script = kit.Script(kit.boom(429, "Too Many Requests", "slow down"))
    client = kit.client(script, retry=kit.retry(attempts=2))

    with pytest.raises(KibanaRateLimited, match="slow down"):
        await client.health()

    assert len(script.requests) == 2


async def test_observer_sees_every_exchange(kit: Any) -> None:
    seen: list[tuple[str, str, int | None, float]] = []
    script = kit.Script(httpx.ConnectError("refused"), kit.boom(503, "x", "y"), httpx.Response(204))
    client = kit.client(script, observer=lambda *args: seen.append(args))

    await client.mute_alert("r1", "a1", space="ops")

    assert [(m, r, s) for m, r, s, _ in seen] == [
        ("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", None),
        ("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", 503),
        ("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", 204),
    ]
    assert all(seconds >= 0 for *_, seconds in seen)


async def test_a_failing_observer_does_not_break_calls(kit: Any) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics down")

    script = kit.Script(httpx.Response(204))
    client = kit.client(script, observer=broken)

    await client.enable_rule("r1")
