"""The App Home page: one `home` view within Slack's limits (100 blocks), a *more* line where a list
is cut."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.access import Role
from handlers.home.actions import HOME_LINK, HOME_REFRESH, RefreshButton
from handlers.home.facts import Claimed, HomeFacts, Muted
from handlers.shared.blocks import Block, actions, button, code, context, divider, escape, header, section
from handlers.shared.catalog import CONNECT_BUTTON
from handlers.shared.identity import ConnectButton
from handlers.shared.words import count

VIEW_BLOCKS = 100  # Slack's limit for a Home tab
LISTED = 20  # items of one list shown before its *more* line
ICON = {"ok": ":large_green_circle:", "warn": ":large_yellow_circle:", "unreachable": ":black_circle:"}


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def where(space: str) -> str:
    return "" if space == "default" else f" (space `{space}`)"


def _listed(title: str, lines: Sequence[str], empty: str, more: str) -> list[Block]:
    blocks: list[Block] = [section(f"*{title}*")]
    if not lines:
        return [*blocks, context(empty)]
    blocks.extend(section(line) for line in lines[:LISTED])
    if len(lines) > LISTED:
        blocks.append(context(f"…and {len(lines) - LISTED} more: {more}"))
    return blocks


def home_view(facts: HomeFacts, *, command: str, kibana_base: str) -> dict[str, object]:
    """The person's Home tab."""
    blocks: list[Block] = [header("Kibana ChatOps")]
    if facts.role is Role.NONE:
        blocks.append(
            section(
                "You have no role with this bot, so there is nothing to show here. Ask an admin of this bot "
                "to grant you one in the access policy (ACCESS_POLICY)."
            )
        )
        return {"type": "home", "blocks": blocks}
    blocks.append(context(f"Your role: *{facts.role}* · refreshed {when(datetime.now(UTC))}"))
    blocks.extend(_connection(facts, command))
    blocks.append(divider())
    blocks.extend(_health(facts, command))
    blocks.append(divider())
    if facts.store_down:
        blocks.append(
            section(
                "The bot's database is not answering, so your mutes, snoozes and cases cannot be shown now. "
                "Open this tab again in a minute."
            )
        )
    else:
        blocks.extend(_yours(facts, command))
    blocks.append(divider())
    blocks.extend(_commands(facts, command, kibana_base))
    if len(blocks) > VIEW_BLOCKS:  # every list is bounded; this keeps the page valid whatever they add up to
        blocks = [
            *blocks[: VIEW_BLOCKS - 1],
            context(f"…more than fits here: see `{command} rules` and `{command} audit`"),
        ]
    return {"type": "home", "blocks": blocks}


def _connection(facts: HomeFacts, command: str) -> list[Block]:
    if facts.connected is None:
        return []
    if facts.connected:
        return [section(":white_check_mark: You are connected to Kibana: what you do here acts with your own API key.")]
    why = (
        "Kibana refused your linked API key (expired or revoked)"
        if facts.stale_key
        else "You are not connected to Kibana"
    )
    connect = button("Connect Kibana", CONNECT_BUTTON, ConnectButton().pack(), style="primary")
    return [
        section(f":warning: {why}: connect your own Kibana API key to act from Slack (`{command} connect`)."),
        actions(connect, block_id="home_connect"),
    ]


def _health(facts: HomeFacts, command: str) -> list[Block]:
    blocks: list[Block] = [section("*Alerting health*")]
    if facts.connected is False:
        return [*blocks, context("Connect Kibana to see alerting health here.")]
    for outcome in facts.health:
        status = outcome.status
        line = f"{ICON.get(status, ':white_circle:')} Space `{outcome.space}`: *{status}*"
        if outcome.health is None:
            line += f" — {outcome.detail}"
        else:
            states = outcome.sub_states()
            bad = [f"{name} {state}" for name, (state, _) in states.items() if state != "ok"]
            line += f" ({', '.join(bad)})" if bad else ""
        blocks.append(section(line))
    if facts.spaces_not_read:
        blocks.append(context(f"…and {count(facts.spaces_not_read, 'more space')}: `{command} health --space <id>`"))
    return blocks


def claimed_line(claimed: Claimed) -> str:
    """`Alert `host 1` of rule *CPU high* (`r1`), claimed 2026-12-06 12:00 UTC · <link|the alert message>`."""
    c = claimed.claim
    if c.firing == 1:
        what = f"Alert {code(c.alert_ids[0])}"
    elif c.firing:
        named = ", ".join(code(a) for a in c.alert_ids) + ("…" if c.firing > len(c.alert_ids) else "")
        what = f"{c.firing} alerts ({named})"
    else:
        what = "The alerts (recovered)"
    rule = f"*{escape(c.rule_name)}* ({code(c.rule_id)})" if c.rule_name else code(c.rule_id)
    line = f"{what} of rule {rule}{where(c.space)}, claimed {when(c.claimed_at)}"
    if claimed.link:
        return f"{line} · <{claimed.link}|the alert message>"
    return f"{line} in <#{c.channel}>" if c.channel else line


def muted_line(m: Muted) -> str:
    """What is muted and until when: the end the bot keeps, or until someone unmutes it."""
    what = (
        f"Alert {code(m.alert_id)} of rule {code(m.rule_id)}{where(m.space)}"
        if m.alert_id
        else f"All alerts of rule {code(m.rule_id)}{where(m.space)}"
    )
    if m.ends_at is not None:
        ending = f"until {when(m.ends_at)}"
    else:
        ending = "until it gets worse" if m.timed else "until someone unmutes"
    return f"{what}: muted {when(m.at)}, {ending}"


def _yours(facts: HomeFacts, command: str) -> list[Block]:
    claims = [claimed_line(c) for c in facts.claimed]
    mutes = [muted_line(m) for m in facts.muted]
    snoozes = [
        f"Rule {code(s.rule_id)}{where(s.space)}: snoozed until {when(s.ends_at)} (schedule {code(s.schedule_id)})"
        for s in facts.snoozed
    ]
    cases = [
        (f"<{c.url}|{escape(c.title or c.case_id)}>" if c.url else f"{escape(c.title)} {code(c.case_id)}")
        + f"{where(c.space)}, {'linked to a thread' if c.linked else 'opened'} {when(c.at)}"
        for c in facts.cases
    ]
    blocks: list[Block] = []
    if claims:
        blocks += _listed("Alerts you claimed", claims, "", f"`{command} audit`")
    blocks += _listed(
        "Your mutes and snoozes", mutes + snoozes, "Nothing you muted or snoozed is in effect.", f"`{command} audit`"
    )
    blocks += _listed(
        "Cases you opened or linked", cases, "You have opened or linked no case from Slack.", "Kibana's case list"
    )
    return blocks


def _commands(facts: HomeFacts, command: str, kibana_base: str) -> list[Block]:
    typed = " · ".join(f"`{command} {c}`" for c in ("health", "rules", "case", "whoami", "help"))
    links = [
        button("Refresh", HOME_REFRESH, RefreshButton().pack()),
        button(
            "Rules in Kibana", HOME_LINK, url=f"{kibana_base}/app/management/insightsAndAlerting/triggersActions/rules"
        ),
        button("Cases in Kibana", f"{HOME_LINK}_cases", url=f"{kibana_base}/app/management/insightsAndAlerting/cases"),
    ]
    return [section(f"*Commands*\n{typed}"), actions(*links, block_id="home_links")]
