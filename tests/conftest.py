"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.secrets_plugin"]  # no configured secret in any log record (issue 7)

# Real SLACK_*/KIBANA_* variables of the developer's shell must never leak into tests.
_LEAKY = (
    "SLACK_",
    "KIBANA_",
    "ELASTICSEARCH_",
    "ALERT_",
    "HEALTH_",
    "DATABASE_URL",
    "ACCESS_POLICY",
    "CASE_OWNER",
    "MUTE_",
    "TZ",
    "LOG_",
)
for _name in list(os.environ):
    if _name.startswith(_LEAKY) and _name != "KIBANA_OPENAPI_SPEC":
        del os.environ[_name]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
