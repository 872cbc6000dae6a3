"""Fixtures of the Kibana client tests: a scripted httpx transport and sample bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from bot.kibana import KibanaClient, RetryPolicy
from devkit.fake_kibana import FakeKibana

API_KEY = "c2VjcmV0LWlkOnNlY3JldC1rZXk="
PASSWORD = "hunter2-very-secret"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
QUICK_RETRY = RetryPolicy(wait_initial=0.001, wait_max=0.01, wait_jitter=0.0)


def quick_retry(**changes: Any) -> RetryPolicy:
    """The test-suite's retry policy (a tiny backoff), with `changes`."""
    return replace(QUICK_RETRY, **changes)


class ScriptedKibana:
    """An httpx transport answering from a script (one answer per request, the last repeats)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers: list[Answer] = list(answers) or [httpx.Response(204)]
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def fast_client(transport: httpx.AsyncBaseTransport, **kwargs: Any) -> KibanaClient:
    """A client whose retry backoff is tiny (the test-suite's knobs)."""
    options: dict[str, Any] = {
        "base_url": "http://kibana.test:5601",
        "api_key": API_KEY,
        "transport": transport,
        "retry": QUICK_RETRY,
    }
    options.update(kwargs)
    return KibanaClient(**options)


HEALTH_BODY: dict[str, Any] = {
    "is_sufficiently_secure": True,
    "has_permanent_encryption_key": True,
    "alerting_framework_health": {
        "decryption_health": {"status": "ok", "timestamp": "2023-01-13T01:28:00.280Z"},
        "execution_health": {"status": "warn", "timestamp": "2023-01-13T01:28:00.280Z"},
        "read_health": {"status": "ok", "timestamp": "2023-01-13T01:28:00.280Z"},
    },
}

RULE_BODY: dict[str, Any] = {
    "id": "rule-1",
    "name": "CPU usage above 90%",
    "enabled": True,
    "mute_all": False,
    "muted_alert_ids": ["host-a"],
    "tags": ["prod", "cpu"],
    "rule_type_id": ".index-threshold",
    "consumer": "alerts",
    "schedule": {"interval": "1m"},
    "actions": [],
    "params": {"threshold": [0.9]},
    "created_by": "elastic",
    "updated_by": "elastic",
    "created_at": "2025-01-01T00:00:00.000Z",
    "updated_at": "2025-01-02T00:00:00.000Z",
    "api_key_owner": "elastic",
    "execution_status": {"status": "active", "last_execution_date": "2025-01-02T00:00:00.000Z"},
    "last_run": {
        "outcome": "succeeded",
        "alerts_count": {"active": 3, "new": 1, "recovered": 0, "ignored": 0},
        "outcome_msg": None,
        "warning": None,
    },
    "revision": 2,
    "snooze_schedule": [
        {"id": "s-1", "duration": 14400000, "rRule": {"dtstart": "2025-01-02T00:00:00.000Z", "tzid": "UTC"}}
    ],
    "active_snoozes": ["s-1"],
    "is_snoozed_until": "2025-01-02T04:00:00.000Z",
    "a_field_from_a_newer_kibana": {"ignored": True},
}

CASE_BODY: dict[str, Any] = {
    "id": "case-1",
    "version": "WzUzMiwxXQ==",
    "title": "Disk full on db-1",
    "description": "from Slack",
    "tags": ["slack"],
    "category": None,
    "owner": "cases",
    "status": "open",
    "severity": "high",
    "settings": {"syncAlerts": True},
    "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
    "assignees": [],
    "customFields": [],
    "comments": [
        {
            "id": "c-1",
            "version": "WzUzMywxXQ==",
            "type": "user",
            "comment": "looking",
            "owner": "cases",
            "created_at": "2025-01-02T00:00:00.000Z",
            "created_by": {"username": "elastic", "full_name": None, "email": None},
            "pushed_at": None,
            "pushed_by": None,
            "updated_at": None,
            "updated_by": None,
        }
    ],
    "totalComment": 1,
    "totalAlerts": 0,
    "created_at": "2025-01-01T00:00:00.000Z",
    "created_by": {"username": "elastic", "full_name": None, "email": None},
    "updated_at": None,
    "updated_by": None,
    "closed_at": None,
    "closed_by": None,
    "duration": None,
    "external_service": None,
    "observables": [],
}


def boom(status: int, error: str, message: str, **extra: Any) -> httpx.Response:
    body = {"statusCode": status, "error": error, "message": message, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/json; charset=utf-8"})


class Kit:
    """What the unit tests need, handed over as one fixture (test modules cannot import conftest)."""

    api_key = API_KEY
    password = PASSWORD
    Script = ScriptedKibana
    boom = staticmethod(boom)
    retry = staticmethod(quick_retry)
    health_body = HEALTH_BODY
    rule_body = RULE_BODY
    case_body = CASE_BODY

    def __init__(self) -> None:
        self._clients: list[KibanaClient] = []

    def client(self, script: ScriptedKibana, **kwargs: Any) -> KibanaClient:
        client = fast_client(script.transport, **kwargs)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    kit = Kit()
    yield kit
    await kit.close()


# --- the fake Kibana over real HTTP ------------------------------------------------------

FAKE_API_KEY = "test-api-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakeKibana]:
    async with FakeKibana() as kibana:
        yield kibana


@pytest.fixture
async def connect(fake: FakeKibana) -> AsyncIterator[Callable[..., KibanaClient]]:
    """A factory of clients of the running fake (default: API key, 2 s timeout, tiny backoff)."""
    clients: list[KibanaClient] = []

    def make(**kwargs: Any) -> KibanaClient:
        options: dict[str, Any] = {
            "base_url": fake.url,
            "api_key": FAKE_API_KEY,
            "timeout": 2.0,
            "retry": QUICK_RETRY,
        }
        options.update(kwargs)
        client = KibanaClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def kibana(connect: Callable[..., KibanaClient]) -> KibanaClient:
    return connect()
