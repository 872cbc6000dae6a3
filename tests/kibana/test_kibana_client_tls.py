"""KIBANA_CA_CERT and KIBANA_VERIFY_TLS against the fake Kibana over real HTTPS (a throwaway CA)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from bot.kibana import KibanaClient, KibanaTimeout, KibanaUnavailable, RetryPolicy
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana

API_KEY = "test-api-key"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_pem(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "kibana-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def https_kibana(ca: trustme.CA) -> AsyncIterator[FakeKibana]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    async with FakeKibana(api_keys=(API_KEY,), ssl_context=context) as kibana:
        yield kibana


def _settings(url: str, **tls: Any) -> Settings:
    return Settings(slack_bot_token="xoxb-1", kibana_url=url, kibana_api_key=API_KEY, kibana_timeout=3, **tls)


async def test_kibana_ca_cert_is_trusted(https_kibana: FakeKibana, ca_pem: Path) -> None:
    assert https_kibana.url.startswith("https://")
    async with KibanaClient.from_settings(_settings(https_kibana.url, kibana_ca_cert=ca_pem)) as client:
        health = await client.health()
        await client.health()  # the kept-alive TLS connection is reused

    assert health.status == "ok"
    assert https_kibana.count("GET", "/api/alerting/_health") == 2


async def test_an_unknown_ca_is_refused_before_anything_is_sent(https_kibana: FakeKibana) -> None:
    async with KibanaClient.from_settings(_settings(https_kibana.url), retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(KibanaUnavailable, match="could not connect to Kibana") as caught:
            await client.health()

    assert caught.value.request_sent is False
    assert not isinstance(caught.value, KibanaTimeout)
    assert "certificate" in str(caught.value).lower()
    assert https_kibana.requests == []


async def test_kibana_verify_tls_false_accepts_any_certificate(https_kibana: FakeKibana) -> None:
    async with KibanaClient.from_settings(_settings(https_kibana.url, kibana_verify_tls=False)) as client:
        health = await client.health()

    assert health.status == "ok"


async def test_a_ca_cert_that_did_not_sign_kibanas_certificate_is_refused(
    https_kibana: FakeKibana, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    async with KibanaClient.from_settings(
        _settings(https_kibana.url, kibana_ca_cert=other), retry=RetryPolicy(attempts=1)
    ) as client:
        with pytest.raises(KibanaUnavailable, match="could not connect to Kibana") as caught:
            await client.health()

    assert caught.value.request_sent is False
    assert https_kibana.requests == []
