"""`mw start|list|end`: start a Kibana maintenance window, list them, end one now.

Kibana sends no notification for the alerts a running window covers (all of a space's, or those of
rules with the window's tags). The bot detects the API as it detects the snooze API (version and
licence, `bot/kibana/maintenance_support.py`) and tells other Kibanas what they would need.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.kibana.errors import KibanaNotFound
from bot.kibana.maintenance_support import maintenance_support
from bot.kibana.models import MaintenanceWindow
from bot.services import Services
from handlers.alerting.maintenance_actions import MW_END, MW_LIST, MW_START, EndArgs, StartArgs, kql_of
from handlers.shared.audit import audited
from handlers.shared.blocks import Block, clip, code, context, escape, section
from handlers.shared.context import Invocation
from handlers.shared.feature import Route
from handlers.shared.outcome import as_whom
from handlers.shared.words import count

LISTED = 20
_STARTED = re.compile(r"^window (\S+) for ")  # the audit detail of `mw start`
MW_APP = "/app/management/insightsAndAlerting/maintenanceWindows"


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


def windows_url(services: Services, space: str) -> str:
    base = services.settings.kibana_link_base.rstrip("/")
    prefix = "" if space == "default" else f"/s/{space}"
    return f"{base}{prefix}{MW_APP}"


def _scope(window: MaintenanceWindow) -> str:
    return f"alerts matching {code(clip(window.kql, 300))}" if window.kql else "every alert of the space"


def describe(window: MaintenanceWindow) -> str:
    """One line: title, id, status, when, what it covers (the title came from a person: escaped)."""
    return (
        f"*{escape(clip(window.title, 200))}* {code(window.id)} — {window.status}, "
        f"{_utc(window.start)} to {_utc(window.end)}, {_scope(window)}"
    )


async def _unavailable(inv: Invocation) -> bool:
    """Tell the person what this Kibana would need, when it lacks the API; True when it does."""
    support = maintenance_support(inv.services.profile.current.info)
    if support.usable:
        return False
    what = (
        f"{support.why}, so nothing was done. Snooze the rules instead (`{inv.slash} snooze <rule_id> 2h`), "
        f"or mute all alerts of one (`{inv.slash} mute-all <rule_id>`)."
    )
    await inv.reply(what[0].upper() + what[1:])
    return True


async def started_from_slack(inv: Invocation) -> list[MaintenanceWindow]:
    """Where Kibana has no public list (8.19, 9.1): the windows `mw start` made in this space (the audit
    trail keeps their ids), as Kibana reports them now, the running and upcoming ones."""
    entries = await inv.services.store.list_audit(action=MW_START.name, spaces=frozenset({inv.space}), limit=100)
    ids = dict.fromkeys(found.group(1) for e in entries if (found := _STARTED.match(e.detail)))
    windows: list[MaintenanceWindow] = []
    for window_id in list(ids)[:LISTED]:
        try:
            window = await inv.services.kibana.get_maintenance_window(window_id, space=inv.space)
        except KibanaNotFound:  # deleted in Kibana since
            continue
        if window.status in ("running", "upcoming"):
            windows.append(window)
    return windows


async def _list_without_find(inv: Invocation, why: str) -> None:
    windows = await started_from_slack(inv)
    where = f"See them all in Kibana: {windows_url(inv.services, inv.space)}"
    if not windows:
        await inv.reply(
            f"{why}, and no window started from Slack is running or coming in space {code(inv.space)}. {where}"
        )
        return
    blocks: list[Block] = [
        section(
            f"*{count(len(windows), 'maintenance window')}* started from Slack running or coming in space "
            f"{code(inv.space)}"
        ),
        *(section(describe(window)) for window in windows),
        context(f"{why}: these are the ones `mw start` made. {where}"),
    ]
    await inv.reply(count(len(windows), "maintenance window"), blocks=blocks)


async def start_window(inv: Invocation) -> None:
    if await _unavailable(inv):
        return
    args = inv.args(StartArgs)
    kql = kql_of(args.tags)
    window = await audited(
        inv.services,
        inv.actor,
        MW_START.name,
        args.title,
        inv.services.kibana.create_maintenance_window(args.title, args.duration, kql=kql, space=inv.space),
        detail=lambda made: f"window {made.id} for {args.duration}" + (f", {kql}" if kql else ""),
        space=inv.space,
    )
    covers = "every alert" if not args.tags else "alerts of rules tagged " + ", ".join(code(t) for t in args.tags)
    await inv.reply(
        f"{inv.actor.mention} started maintenance window *{escape(window.title)}* {code(window.id)} in space "
        f"{code(inv.space)} until {_utc(window.end)}: Kibana sends no notification of {covers} until then"
        f"{as_whom()}. End it early with `{inv.slash} mw end {window.id}`.",
        public=True,
    )


async def list_windows(inv: Invocation) -> None:
    if await _unavailable(inv):
        return
    support = maintenance_support(inv.services.profile.current.info)
    if not support.listing:
        await _list_without_find(inv, support.listing_why or "This Kibana cannot list maintenance windows")
        return
    page = await inv.services.kibana.find_maintenance_windows(
        status=["running", "upcoming"], space=inv.space, per_page=LISTED
    )
    if not page.data:
        await inv.reply(
            f"No maintenance window is running or coming in space {code(inv.space)}. "
            f"Start one with `{inv.slash} mw start 2h --title Deploy`."
        )
        return
    blocks: list[Block] = [
        section(f"*{count(page.total, 'maintenance window')}* running or coming in space {code(inv.space)}")
    ]
    blocks.extend(section(describe(window)) for window in page.data)
    if page.total > len(page.data):
        blocks.append(context(f"The first {len(page.data)}; all of them: {windows_url(inv.services, inv.space)}"))
    await inv.reply(count(page.total, "maintenance window"), blocks=blocks)


async def end_window(inv: Invocation) -> None:
    if await _unavailable(inv):
        return
    window_id = inv.args(EndArgs).id
    window = await audited(
        inv.services,
        inv.actor,
        MW_END.name,
        window_id,
        inv.services.kibana.archive_maintenance_window(window_id, space=inv.space),
        detail=lambda ended: f"window {ended.id} ({ended.title}) archived",
        space=inv.space,
    )
    await inv.reply(
        f"{inv.actor.mention} ended maintenance window *{escape(window.title)}* {code(window.id)} in space "
        f"{code(inv.space)}: Kibana notifies its alerts again{as_whom()}.",
        public=True,
    )


def routes() -> dict[str, Route]:
    return {MW_START.name: start_window, MW_LIST.name: list_windows, MW_END.name: end_window}
