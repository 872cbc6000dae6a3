"""Every typed error, provoked through the fake Kibana's state and faults over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.kibana import (
    KibanaBadRequest,
    KibanaClient,
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
from devkit.fake_kibana import FakeKibana

from .conftest import quick_retry

RULE_PATH = r"/api/alerting/rule/[^/]+"


async def test_bad_request_carries_kibanas_message(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.add_rule(id="r1")

    with pytest.raises(KibanaBadRequest) as caught:
        await kibana.unsnooze_rule("r1", "no-such-schedule")

    error = caught.value
    assert (error.status_code, error.error) == (400, "Bad Request")
    assert "no snooze schedule" in error.message
    assert (error.method, error.path, error.space) == (
        "DELETE",
        "/api/alerting/rule/r1/snooze_schedule/no-such-schedule",
        "default",
    )


@pytest.mark.parametrize(
    "credentials",
    [
        {"api_key": "wrong-key"},
        {"api_key": None, "username": "elastic", "password": "wrong-password"},
        {"api_key": None},
    ],
)
async def test_unauthorized(fake: FakeKibana, connect: Callable[..., KibanaClient], credentials: dict) -> None:
    client = connect(**credentials)

    with pytest.raises(KibanaUnauthorized) as caught:
        await client.health()

    assert (caught.value.status_code, caught.value.error) == (401, "Unauthorized")
    assert "wrong-password" not in str(caught.value) and "wrong-key" not in str(caught.value)
    assert fake.count("GET", "/api/alerting/_health") == 1  # a definite answer: not retried


async def test_basic_auth_accepted(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    client = connect(api_key=None, username="elastic", password="changeme")
    fake.add_rule(id="r1")

    await client.disable_rule("r1")

    assert fake.rule("r1")["enabled"] is False


async def test_forbidden(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.add_rule(id="r1", consumer="alerts", rule_type_id=".index-threshold")
    fake.forbid("disable", rule_id="r1")

    with pytest.raises(KibanaForbidden, match=r'Unauthorized by "alerts" to disable ".index-threshold" rule'):
        await kibana.disable_rule("r1")

    assert fake.rule("r1")["enabled"] is True


async def test_not_found(kibana: KibanaClient) -> None:
    with pytest.raises(KibanaNotFound, match=r"Saved object \[alert/ghost\] not found") as caught:
        await kibana.mute_all("ghost", space="ops")

    assert (caught.value.status_code, caught.value.space, caught.value.path) == (
        404,
        "ops",
        "/s/ops/api/alerting/rule/ghost/_mute_all",
    )


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (406, KibanaNotAcceptable),
        (409, KibanaConflict),
        (500, KibanaServerError),
        (501, KibanaServerError),
        (502, KibanaUnavailable),
        (503, KibanaUnavailable),
        (504, KibanaUnavailable),
    ],
)
async def test_status_faults(fake: FakeKibana, kibana: KibanaClient, status: int, error_class: type) -> None:
    fake.add_rule(id="r1")
    fake.fault("GET", RULE_PATH, status=status)

    with pytest.raises(error_class) as caught:
        await kibana.get_rule("r1")

    assert caught.value.status_code == status
    assert caught.value.error and caught.value.message


async def test_payload_too_large(kibana: KibanaClient) -> None:
    huge = b'{"version":3,"sources":[],"mappings":"' + b"A" * (1024 * 1024) + b'"}'

    with pytest.raises(KibanaPayloadTooLarge, match="greater than maximum allowed: 1048576"):
        await kibana.upload_sourcemap(service_name="web", service_version="1", bundle_filepath="/a.js", sourcemap=huge)


async def test_rate_limited_after_the_retries(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    client = connect(retry=quick_retry(attempts=3))
    fake.fault("GET", r"/api/alerting/_health", status=429, retry_after=0)

    with pytest.raises(KibanaRateLimited) as caught:
        await client.health()

    assert caught.value.status_code == 429
    assert fake.count("GET", "/api/alerting/_health") == 3


async def test_server_error_on_delete_is_not_retried(fake: FakeKibana, kibana: KibanaClient) -> None:
    with pytest.raises(KibanaServerError, match="Something went wrong while deleting sourcemap"):
        await kibana.delete_sourcemap("apm:missing")

    assert fake.count("DELETE", "/api/apm/sourcemaps/{id}") == 1


async def test_unreadable_answer(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.fault("GET", RULE_PATH, status=200, body={"not": "a rule"})

    with pytest.raises(KibanaResponseInvalid, match="could not read") as caught:
        await kibana.get_rule("r1")

    assert caught.value.status_code == 200


async def test_timeout(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    client = connect(timeout=0.3, retry=quick_retry(attempts=1))
    fake.add_rule(id="r1")
    fake.fault("GET", RULE_PATH, latency=2.0)

    with pytest.raises(KibanaTimeout, match=r"did not answer within 0\.3 s") as caught:
        await client.get_rule("r1")

    assert isinstance(caught.value, KibanaUnavailable) and caught.value.request_sent is True


async def test_connection_refused(fake: FakeKibana, connect: Callable[..., KibanaClient]) -> None:
    client = connect(retry=quick_retry(attempts=2))
    await fake.stop()

    with pytest.raises(KibanaUnavailable, match="could not connect to Kibana") as caught:
        await client.health()

    assert caught.value.request_sent is False
    assert not isinstance(caught.value, KibanaTimeout)
    assert "test-api-key" not in repr(caught.value) + str(vars(caught.value))


async def test_every_error_is_a_kibana_error(fake: FakeKibana, kibana: KibanaClient) -> None:
    fake.fault("*", r".*", status=418)

    with pytest.raises(KibanaError) as caught:
        await asyncio.wait_for(kibana.health(), timeout=5)

    assert type(caught.value) is KibanaError and caught.value.status_code == 418
