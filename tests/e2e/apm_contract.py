"""An autouse fixture for the APM end-to-end tests: every request the bot sent to the fake Kibana,
and every answer it got, must match Kibana's OpenAPI description (fails, never skips, without it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.contract import SPEC_ENV, ContractValidator, ContractViolation, spec_path
from devkit.fake_kibana import FakeKibana

REPO_ROOT = Path(__file__).resolve().parents[2]
_VALIDATOR: list[ContractValidator] = []


def validator() -> ContractValidator:
    if not _VALIDATOR:
        path = spec_path(REPO_ROOT)
        if path is None or not path.is_file():
            pytest.fail(
                f"{SPEC_ENV}={os.environ.get(SPEC_ENV)!r}: no Kibana OpenAPI spec to check the APM calls against"
            )
        _VALIDATOR.append(ContractValidator(path))
    return _VALIDATOR[0]


@pytest.fixture(autouse=True)
def kibana_calls_follow_the_contract(kibana: FakeKibana) -> Iterator[None]:
    yield
    contract = validator()
    problems: list[str] = []
    for exchange in kibana.exchanges:
        sent = exchange.request
        if sent.route is None or not sent.route.startswith("/api/apm/"):
            continue
        url = sent.path + (f"?{sent.query_string}" if sent.query_string else "")
        try:
            contract.validate_request(
                sent.method, url, headers=sent.headers, body=sent.body, content_type=sent.headers.get("content-type")
            )
            contract.validate_response(
                sent.method, sent.path, exchange.status, headers=exchange.headers, body=exchange.body
            )
        except ContractViolation as violation:
            problems.append(str(violation))
    assert not problems, "\n\n".join(problems)
