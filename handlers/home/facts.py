"""What a person's App Home shows, read from the bot's records and Kibana: the alerts they are on
("I'm on it"), their mutes (with when each ends, where the bot knows it) and snoozes, the cases they
opened or linked to a thread, alerting health per space they may see, and whether they are connected
to Kibana (KIBANA_IDENTITY=person)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError

from bot.access import Role, Scope
from bot.failure_log import FailureLog
from bot.kibana.acting import KibanaNotLinked, PersonForbidden, PersonKeyRejected, acting_for
from bot.services import Services
from bot.store import AuditEntry, CaseLink, HeldClaim, KnownSnooze, TimedMute
from bot.store.errors import store_unreachable
from handlers.health.report import HealthOutcome, check_health

log = logging.getLogger(__name__)
_failures = FailureLog(log)

MUTES = ("mute", "mute-all")
UNDOES = {"unmute": "mute", "unmute-all": "mute-all"}
CASE = "case"
MAX_SPACES = 5  # health is read for at most this many spaces per opening (one Kibana call each)
HEALTH_WAIT = 5.0  # seconds the page waits for a space's health (retries included) before saying so
CLAIMS_SHOWN = 20  # claims read per opening (one chat.getPermalink each, at once)
LINK_WAIT = 3.0  # seconds the page waits for the claims' message links before showing them without


@dataclass(frozen=True)
class Muted:
    """A mute the person made that no one has undone since: until someone unmutes it, or until the end
    the bot keeps for it (`mute … for/until`: `ends_at`, or None with `timed` for until it gets worse)."""

    space: str
    rule_id: str
    alert_id: str | None  # None: all alerts of the rule
    at: datetime
    timed: bool = False
    ends_at: datetime | None = None


@dataclass(frozen=True)
class Claimed:
    """An alert episode the person is on ("I'm on it"), and the link to its message."""

    claim: HeldClaim
    link: str | None = None  # the message's permalink (None: not posted, or Slack did not give it)

    @property
    def space(self) -> str:
        return self.claim.space


@dataclass(frozen=True)
class OpenedCase:
    space: str
    case_id: str
    title: str
    url: str | None
    at: datetime
    linked: bool = False  # linked to a Slack thread (an alert or a message added to it), not opened


@dataclass
class HomeFacts:
    user_id: str
    role: Role
    person_mode: bool
    connected: bool | None = None  # None: the bot acts with its own credential (KIBANA_IDENTITY=bot)
    stale_key: bool = False
    muted: list[Muted] = field(default_factory=list)
    snoozed: list[KnownSnooze] = field(default_factory=list)
    claimed: list[Claimed] = field(default_factory=list)
    cases: list[OpenedCase] = field(default_factory=list)
    health: list[HealthOutcome] = field(default_factory=list)
    spaces_not_read: int = 0  # spaces the person may see beyond MAX_SPACES
    store_down: bool = False


async def claims_of(services: Services, user_id: str) -> list[Claimed]:
    """The open episodes `user_id` claimed and has not released, newest first, each with its message's link."""
    held = await services.store.claims_held_by(user_id, limit=CLAIMS_SHOWN)

    async def link(claim: HeldClaim) -> str | None:
        if not claim.channel or not claim.ts:
            return None
        try:
            async with asyncio.timeout(LINK_WAIT):
                answer = await services.slack.chat_getPermalink(channel=claim.channel, message_ts=claim.ts)
        except SlackApiError as error:
            log.info("no permalink for %s/%s: %s", claim.channel, claim.ts, error.response.get("error"))
            return None
        except TimeoutError:
            log.info("no permalink for %s/%s: Slack did not answer in %.0f s", claim.channel, claim.ts, LINK_WAIT)
            return None
        except Exception as error:  # the link is a convenience: the page shows the claim without it
            log.warning("no permalink for %s/%s: %s", claim.channel, claim.ts, type(error).__name__)
            return None
        found = answer.get("permalink")
        return found if isinstance(found, str) and found.startswith("https://") else None

    links = await asyncio.gather(*(link(claim) for claim in held))
    return [Claimed(claim, found) for claim, found in zip(held, links, strict=True)]


def with_ends(muted: list[Muted], timed: list[TimedMute]) -> list[Muted]:
    """The mutes, each with the end the bot keeps for it (the person's timed mutes), if any."""
    ends = {(t.space, t.rule_id, t.alert_id): t.ends_at for t in timed}
    return [
        replace(m, timed=True, ends_at=ends[(m.space, m.rule_id, m.alert_id)])
        if (m.space, m.rule_id, m.alert_id) in ends
        else m
        for m in muted
    ]


def mutes_standing(entries: list[AuditEntry], user_id: str) -> list[Muted]:
    """From the audit trail (newest first): the mutes by `user_id` that are the latest word on their target."""
    seen: set[tuple[str, str, str]] = set()
    standing = []
    for entry in entries:
        kind = UNDOES.get(entry.action, entry.action)
        key = (kind, entry.space, entry.target)
        if key in seen:
            continue
        seen.add(key)
        if entry.action in MUTES and entry.user_id == user_id:
            rule_id, _, alert_id = entry.target.partition("/")
            standing.append(Muted(entry.space, entry.rule_id or rule_id, alert_id or None, entry.at))
    return standing


async def visible_spaces(services: Services, user_id: str) -> list[str]:
    """The spaces where the person may see alerting (viewer), KIBANA_SPACE first."""
    found = await services.access.spaces_with(user_id, None, Role.VIEWER)
    home = services.settings.kibana_space
    if found is None:
        return [home, *sorted(services.access.policy.spaces - {home})]
    return [home, *sorted(found - {home})] if home in found else sorted(found)


async def gather(services: Services, user_id: str, team_id: str | None) -> HomeFacts:
    role = (await services.access.role_of(user_id, None, Scope.BOT)).role
    facts = HomeFacts(user_id=user_id, role=role, person_mode=services.people is not None)
    if role is Role.NONE:
        return facts
    spaces = await visible_spaces(services, user_id)
    shown = set(spaces)
    try:
        await _records(services, facts, shown)
    except Exception as error:
        if not store_unreachable(error):
            raise
        _failures.failed("home records", "App Home shows no records: the database did not answer", error=error)
        facts.store_down = True
    key = None
    if services.people is not None:
        link = await services.people.link_of(team_id, user_id)
        facts.connected = link is not None and not link.stale
        facts.stale_key = link is not None and link.stale
        key = link.key if facts.connected and link is not None else None
        if key is None:
            return facts
    facts.spaces_not_read = max(0, len(spaces) - MAX_SPACES)
    facts.health = await _health(services, user_id, key, spaces[:MAX_SPACES])
    return facts


async def _records(services: Services, facts: HomeFacts, spaces: set[str]) -> None:
    store, user_id = services.store, facts.user_id
    now = datetime.now(UTC)
    entries = await store.audit_of_actions([*MUTES, *UNDOES])
    muted = [m for m in mutes_standing(entries, user_id) if m.space in spaces]
    facts.muted = with_ends(muted, await store.timed_mutes_by(user_id))
    facts.snoozed = [s for s in await store.snoozes_by(user_id, ending_after=now) if s.space in spaces]
    facts.claimed = [c for c in await claims_of(services, user_id) if c.space in spaces]
    opened = [e for e in await store.audit_of_actions([CASE], user_id=user_id, limit=200) if e.space in spaces]
    opened = list({e.target: e for e in reversed(opened)}.values())[::-1]  # one per case, newest first
    urls = await store.case_urls([e.target for e in opened])
    facts.cases = [OpenedCase(e.space, e.target, e.detail, urls.get(e.target), e.at) for e in opened]
    facts.cases = with_linked(services, facts.cases, await store.case_links_by(user_id), spaces)


def with_linked(
    services: Services, opened: list[OpenedCase], links: list[CaseLink], spaces: set[str]
) -> list[OpenedCase]:
    """The cases opened, and those linked (not opened) by the person, one each, newest first."""
    known = {c.case_id for c in opened}
    linked: dict[str, OpenedCase] = {}
    base = services.settings.kibana_link_base
    for link in links:
        if link.case_id in known or link.case_id in linked or link.space not in spaces:
            continue
        url = services.kibana.case_url(link.case_id, owner=link.owner, space=link.space, public_base=base)
        title = link.title or link.case_id
        linked[link.case_id] = OpenedCase(link.space, link.case_id, title, url, link.linked_at, linked=True)
    return sorted([*opened, *linked.values()], key=lambda c: c.at, reverse=True)


async def _health(services: Services, user_id: str, key: object, spaces: list[str]) -> list[HealthOutcome]:
    async def read(space: str) -> HealthOutcome:
        if services.people is not None and key is not None:
            with acting_for(user_id, key, services.people.mark_stale):  # type: ignore[arg-type]
                return await check_health(services.kibana, space)
        return await check_health(services.kibana, space)

    async def one(space: str) -> HealthOutcome | None:
        try:
            async with asyncio.timeout(HEALTH_WAIT):
                return await read(space)
        except (KibanaNotLinked, PersonKeyRejected, PersonForbidden):
            return None
        except TimeoutError:
            detail = f"Kibana did not answer within {HEALTH_WAIT:.0f} s; open this tab again later."
            return HealthOutcome(space=space, checked_at=datetime.now(UTC), problem="unreachable", detail=detail)

    found = await asyncio.gather(*(one(space) for space in spaces))
    return [outcome for outcome in found if outcome is not None]
