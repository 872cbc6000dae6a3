"""Creating a case exactly once, whatever Slack, the user or Kibana do.

Each creation carries a de-duplication key (per Slack message, or per form for the
command), claimed in the store and tagged on the case:

- a second submission of the same key waits for the first and answers with its case;
- before creating, Kibana is asked for a case with the key's tag (a previous attempt
  may have created it after its answer was lost);
- `POST /api/cases` is never retried blindly: after an ambiguous failure (timeout,
  connection lost after sending) the case is looked up by its tag, repeatedly for
  LOOKUP_WINDOW seconds (Kibana creates cases with refresh=false, so a new case reaches
  _find only after Elasticsearch's next refresh, about 1 s); found, it is recorded; not
  found, the claim is released so the user's retry creates it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.kibana.errors import KibanaError, KibanaUnavailable
from bot.kibana.models.cases import Case, CaseCreate
from bot.services import Services
from bot.store.cases import CaseRecord
from handlers.cases.form import dedupe_tag

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.2
# Kibana creates cases with refresh=false, and Elasticsearch refreshes about every second: a _find right
# after an ambiguous failure may miss a case that exists. The look-up is repeated for this long (longer
# than the refresh interval, bounded) before the claim is released.
LOOKUP_WINDOW = 2.5
LOOKUP_INTERVAL = 0.5


@dataclass(frozen=True)
class OpenedCase:
    case_id: str
    url: str
    title: str | None
    owner: str | None
    recorded_here: bool  # True: this call created (or found and recorded) it; False: another submission did


class CaseOutcomeUnknown(Exception):
    """Kibana failed ambiguously and no case carries the tag: it was (most likely) not created."""

    def __init__(self, cause: KibanaError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class CaseStillPending(Exception):
    """Another submission of the same form is still creating the case."""


def link_for(services: Services, case: Case, space: str) -> str:
    return services.kibana.case_url(
        case.id, owner=case.owner, space=space, public_base=services.settings.kibana_link_base
    )


async def find_by_tag(services: Services, key: str, space: str) -> Case | None:
    page = await services.kibana.find_cases(tags=[dedupe_tag(key)], space=space, per_page=1)
    return page.cases[0] if page.cases else None


async def open_case_once(
    services: Services,
    *,
    key: str,
    case: CaseCreate,
    space: str,
    channel: str | None,
    message_ts: str | None,
) -> OpenedCase:
    """The case for `key`: created now, or the one an earlier submission created."""
    store = services.store
    for _ in range(2):  # a second round only when the first claimant gave up without a case
        claim = await store.claim_case(key, space=space, channel=channel, message_ts=message_ts)
        if claim.first:
            return await _create(services, key=key, case=case, space=space)
        if claim.record.case_id is None and _abandoned(services, claim.record):
            # Its claimant died mid-way: take over (our lookup by tag finds the case if it was made).
            log.warning("taking over the abandoned claim of case %s", key)
            await store.release_case_claim(key)
            continue
        record = claim.record if claim.record.case_id else await _wait_for_case(services, key)
        if record is not None and record.case_id:
            return OpenedCase(record.case_id, record.case_url or "", None, None, recorded_here=False)
    raise CaseStillPending(key)


async def _create(services: Services, *, key: str, case: CaseCreate, space: str) -> OpenedCase:
    store = services.store
    tagged = case.model_copy(update={"tags": [*case.tags, dedupe_tag(key)]})
    try:
        created = await find_by_tag(services, key, space)  # an earlier attempt's answer may have been lost
        if created is None:
            created = await services.kibana.create_case(tagged, space=space)
    except KibanaUnavailable as error:
        if not error.request_sent:
            await store.release_case_claim(key)
            raise
        created = await _look_up_after(services, key, space, error)
    except BaseException:
        await store.release_case_claim(key)
        raise
    url = link_for(services, created, space)
    await store.set_case_id(key, created.id, case_url=url)
    return OpenedCase(created.id, url, created.title, created.owner, recorded_here=True)


async def _look_up_after(services: Services, key: str, space: str, error: KibanaUnavailable) -> Case:
    """After an ambiguous failure: the case if Kibana made it, else release the claim and say so."""
    log.warning("creating case %s failed ambiguously (%s); looking it up by its tag", key, error)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOOKUP_WINDOW
    found = None
    while True:
        try:
            found = await find_by_tag(services, key, space)
        except KibanaError as lookup_error:
            log.warning("could not look case %s up either: %s", key, lookup_error)
        if found is not None or loop.time() + LOOKUP_INTERVAL > deadline:
            break
        await asyncio.sleep(LOOKUP_INTERVAL)  # not visible yet? Elasticsearch may not have refreshed
    if found is None:
        # Safe to release: every attempt looks the tag up before creating.
        await services.store.release_case_claim(key)
        raise CaseOutcomeUnknown(error) from error
    return found


def _abandoned(services: Services, record: CaseRecord) -> bool:
    age = datetime.now(UTC) - record.claimed_at
    return age > timedelta(seconds=2 * _wait_budget(services))


def _wait_budget(services: Services) -> float:
    """How long a second submission waits for the first: its lookup, create and lookup, plus slack."""
    return min(60.0, 3 * services.settings.kibana_timeout + 2.0)


async def _wait_for_case(services: Services, key: str) -> CaseRecord | None:
    """The claim once it has a case id; None when the first claimant released it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _wait_budget(services)
    while loop.time() < deadline:
        await asyncio.sleep(POLL_INTERVAL)
        record = await services.store.get_case(key)
        if record is None or record.case_id:
            return record
    raise CaseStillPending(key)
