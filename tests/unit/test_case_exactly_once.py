"""`open_case_once` against the real store (SQLite) and a scripted Kibana: every path by which
a case could be created twice, or not at all, after a failure."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.kibana.errors import KibanaBadRequest, KibanaTimeout, KibanaUnavailable
from bot.kibana.models.cases import Case, CaseCreate, CasePage
from bot.services import Services
from bot.store import Store
from handlers.cases import creation as case_creation
from handlers.cases.creation import CaseOutcomeUnknown, CaseStillPending, open_case_once

KEY = "C0ALERTS:1712345678.000100"
TAG = f"slack-dedupe:{KEY}"


class ScriptedKibana:
    """Cases in memory; `create_outcomes` scripts each create: "ok", "lost" (made, answer lost),
    "timeout" (not made), "unsent" (never left), "bad" (400)."""

    def __init__(self, *create_outcomes: str) -> None:
        self.cases: list[Case] = []
        self.outcomes = list(create_outcomes)
        self.creates: list[CaseCreate] = []
        self.finds = 0
        self._ids = itertools.count(1)

    def _make(self, case: CaseCreate) -> Case:
        made = Case.model_validate(
            {**case.to_body(), "id": f"case-{next(self._ids)}", "version": "v1", "status": "open"}
        )
        self.cases.append(made)
        return made

    async def create_case(self, case: CaseCreate, *, space: str | None = None) -> Case:
        self.creates.append(case)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        await asyncio.sleep(0.01)
        if outcome == "lost":
            self._make(case)
            raise KibanaTimeout("Kibana did not answer within 1 s", method="POST", path="/api/cases")
        if outcome == "timeout":
            raise KibanaTimeout("Kibana did not answer within 1 s", method="POST", path="/api/cases")
        if outcome == "unsent":
            error = KibanaUnavailable("connection refused", method="POST", path="/api/cases")
            error.request_sent = False
            raise error
        if outcome == "bad":
            raise KibanaBadRequest("invalid keys", method="POST", path="/api/cases")
        return self._make(case)

    async def find_cases(self, *, tags: list[str] | None = None, space: str | None = None, per_page: int = 20) -> Any:
        self.finds += 1
        hits = [c for c in self.cases if set(tags or []) & set(c.tags)]
        return CasePage(cases=hits[:per_page], total=len(hits))

    def case_url(self, case_id: str, *, owner: str, space: str | None = None, public_base: str) -> str:
        return f"{public_base}/s/{space}/cases/{case_id}"


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}")
    yield opened
    await opened.close()


def services(store: Store, kibana: ScriptedKibana) -> Services:
    settings = SimpleNamespace(kibana_timeout=1.0, kibana_link_base="https://kibana.example.com")
    return cast(Services, SimpleNamespace(store=store, kibana=kibana, settings=settings))


CASE = CaseCreate(title="Disk full", description="db-3 at 100%", tags=["slack"])


async def open_once(svc: Services) -> case_creation.OpenedCase:
    return await open_case_once(svc, key=KEY, case=CASE, space="ops", channel="C0ALERTS", message_ts="1.2")


async def test_creates_with_the_tag_and_records_it(store: Store) -> None:
    kibana = ScriptedKibana("ok")
    opened = await open_once(services(store, kibana))
    assert opened.recorded_here and opened.case_id == "case-1"
    assert opened.url == "https://kibana.example.com/s/ops/cases/case-1"
    assert kibana.creates[0].tags == ["slack", TAG]
    record = await store.get_case(KEY)
    assert record is not None and record.case_id == "case-1"
    again = await open_once(services(store, kibana))
    assert (again.case_id, again.recorded_here, len(kibana.creates)) == ("case-1", False, 1)


async def test_concurrent_submissions_create_once(store: Store) -> None:
    kibana = ScriptedKibana("ok")
    svc = services(store, kibana)
    results = await asyncio.gather(*(open_once(svc) for _ in range(5)))
    assert {r.case_id for r in results} == {"case-1"}
    assert sorted(r.recorded_here for r in results) == [False] * 4 + [True]
    assert len(kibana.creates) == 1


async def test_answer_lost_but_case_made_is_found_by_its_tag(store: Store) -> None:
    kibana = ScriptedKibana("lost")
    opened = await open_once(services(store, kibana))
    assert opened.recorded_here and opened.case_id == "case-1"
    assert len(kibana.creates) == 1 and kibana.finds == 2  # before creating, and after the timeout


async def test_timeout_without_a_case_releases_the_claim_and_the_retry_creates(store: Store) -> None:
    kibana = ScriptedKibana("timeout", "ok")
    with pytest.raises(CaseOutcomeUnknown):
        await open_once(services(store, kibana))
    assert await store.get_case(KEY) is None
    opened = await open_once(services(store, kibana))
    assert opened.recorded_here and len(kibana.cases) == 1


async def test_a_create_that_never_left_releases_and_says_so(store: Store) -> None:
    kibana = ScriptedKibana("unsent")
    with pytest.raises(KibanaUnavailable) as raised:
        await open_once(services(store, kibana))
    assert raised.value.request_sent is False
    assert kibana.finds == 1  # no look-up needed afterwards: it certainly did not happen
    assert await store.get_case(KEY) is None


async def test_a_refused_create_releases_the_claim(store: Store) -> None:
    kibana = ScriptedKibana("bad")
    with pytest.raises(KibanaBadRequest):
        await open_once(services(store, kibana))
    assert await store.get_case(KEY) is None


async def test_the_waiting_submission_takes_over_when_the_first_gives_up(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_creation, "POLL_INTERVAL", 0.01)
    kibana = ScriptedKibana("ok")
    await store.claim_case(KEY, space="ops", channel="C0ALERTS", message_ts="1.2")  # another replica

    async def give_up() -> None:
        await asyncio.sleep(0.1)
        await store.release_case_claim(KEY)

    releasing = asyncio.create_task(give_up())
    opened = await open_once(services(store, kibana))
    await releasing
    assert opened.recorded_here and len(kibana.creates) == 1


async def test_a_claim_still_pending_after_the_wait_is_reported(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_creation, "POLL_INTERVAL", 0.01)
    monkeypatch.setattr(case_creation, "_wait_budget", lambda services: 0.1)
    monkeypatch.setattr(case_creation, "_abandoned", lambda services, record: False)
    await store.claim_case(KEY, space="ops", channel="C0ALERTS", message_ts="1.2")
    with pytest.raises(CaseStillPending):
        await open_once(services(store, ScriptedKibana()))


async def test_an_abandoned_claim_is_taken_over_and_finds_the_case(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    kibana = ScriptedKibana()
    kibana._make(CASE.model_copy(update={"tags": ["slack", TAG]}))  # made by a replica that then died
    await store.claim_case(KEY, space="ops", channel="C0ALERTS", message_ts="1.2")
    monkeypatch.setattr(case_creation, "_abandoned", lambda services, record: True)
    opened = await open_once(services(store, kibana))
    assert opened.case_id == "case-1" and kibana.creates == []
