"""Contract fixtures: the OpenAPI validator (fails, never skips, without a spec), a fake Kibana
that validates every answer it gives, and a client whose every request is validated."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.kibana import KibanaClient, RetryPolicy
from devkit.contract import SPEC_ENV, ContractValidator, ContractViolation, spec_path
from devkit.fake_kibana import Exchange, FakeKibana

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def contract() -> ContractValidator:
    path = spec_path(REPO_ROOT)
    if not path.is_file():
        pytest.fail(f"{SPEC_ENV}={os.environ.get(SPEC_ENV)!r}: no such file {path}")
    return ContractValidator(path)


class ContractCheckingTransport(httpx.AsyncBaseTransport):
    """Validates each request against the contract, then sends it for real."""

    def __init__(self, contract: ContractValidator, violations: list[str]) -> None:
        self._contract = contract
        self._violations = violations
        self._inner = httpx.AsyncHTTPTransport()
        self.checked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.checked += 1
        try:
            self._contract.validate_request(
                request.method,
                str(request.url),
                headers=dict(request.headers),
                body=body,
                content_type=request.headers.get("content-type"),
            )
        except ContractViolation as violation:
            self._violations.append(str(violation))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ContractRun:
    """The fake, the client and what the contract found wrong in both directions."""

    def __init__(self, contract: ContractValidator) -> None:
        self.contract = contract
        self.request_violations: list[str] = []
        self.response_violations: list[str] = []
        self.responses_checked = 0
        self.fake = FakeKibana(on_exchange=self._check_answer)
        self.transport = ContractCheckingTransport(contract, self.request_violations)
        self.client: KibanaClient | None = None

    def _check_answer(self, exchange: Exchange) -> None:
        self.responses_checked += 1
        try:
            self.contract.validate_response(
                exchange.method, exchange.request.path, exchange.status, exchange.headers, exchange.body
            )
        except ContractViolation as violation:
            self.response_violations.append(str(violation))

    def assert_clean(self) -> None:
        assert not self.request_violations, "\n\n".join(self.request_violations)
        assert not self.response_violations, "\n\n".join(self.response_violations)
        assert not self.fake.exchange_errors


@pytest.fixture
async def run(contract: ContractValidator) -> AsyncIterator[ContractRun]:
    checked = ContractRun(contract)
    await checked.fake.start()
    checked.client = KibanaClient(
        base_url=checked.fake.url,
        api_key="test-api-key",
        transport=checked.transport,
        retry=RetryPolicy(wait_initial=0.001, wait_max=0.01, wait_jitter=0.0),
    )
    yield checked
    await checked.client.aclose()
    await checked.fake.stop()
