"""Alerting commands: help, health, rules, rule, and the rule/alert writes."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.kibana.errors import KibanaError
from handlers import rule_writes
from handlers.commands import command
from handlers.context import Invocation
from handlers.grammar import USAGE
from handlers.health import HealthOutcome, health_blocks, health_text
from handlers.rule_modals import open_disable_modal
from handlers.rules import rule_card_blocks, rule_list_blocks
from handlers.values import Target


@command("help")
async def show_help(inv: Invocation) -> None:
    topic = str(inv.command.args.get("topic", ""))
    lines = [f"`{inv.slash} {usage}`" for action, usage in USAGE.items() if action.startswith(topic)]
    if not lines:
        lines = [f"`{inv.slash} {usage}`" for usage in USAGE.values()]
    text = "*Kibana ChatOps* — act on Kibana alerting from Slack.\n" + "\n".join(lines)
    text += "\nEvery command takes `--space <id>` to act in another Kibana space."
    await inv.reply(text)


@command("health")
async def show_health(inv: Invocation) -> None:
    try:
        outcome = HealthOutcome(
            space=inv.space,
            checked_at=datetime.now(UTC),
            health=await inv.services.kibana.health(space=inv.space),
        )
    except KibanaError as error:
        outcome = HealthOutcome.from_error(inv.space, error)
    await inv.reply(health_text(outcome), blocks=health_blocks(outcome))


@command("rules")
async def list_rules(inv: Invocation) -> None:
    search = str(inv.command.args.get("search", ""))
    page = await inv.services.kibana.find_rules(search or None, space=inv.space, per_page=20)
    await inv.reply(f"{page.total} rule(s)", blocks=rule_list_blocks(page, search=search, space=inv.space))


@command("rule")
async def show_rule(inv: Invocation) -> None:
    rule_id = str(inv.command.args["rule_id"])
    rule = await inv.services.kibana.get_rule(rule_id, space=inv.space)
    url = inv.services.kibana.rule_url(rule.id, space=inv.space, public_base=inv.services.settings.kibana_link_base)
    await inv.reply(f"Rule {rule.name}", blocks=rule_card_blocks(rule, space=inv.space, rule_url=url))


@command("mute", "unmute", "enable", "unmute-all", "snooze", "unsnooze")
async def write(inv: Invocation) -> None:
    args = inv.command.args
    target = Target(
        rule_id=str(args["rule_id"]),
        space=inv.space,
        alert_id=str(args["alert_id"]) if "alert_id" in args else None,
    )
    try:
        done = await rule_writes.apply(
            inv.services,
            inv.actor,
            inv.command.action,
            target,
            duration=str(args["duration"]) if "duration" in args else None,
            schedule_id=str(args["schedule_id"]) if "schedule_id" in args else None,
        )
    except rule_writes.NothingToDo as nothing:
        await inv.reply(str(nothing))
        return
    await inv.reply(f"{inv.actor.mention} {done}.", public=True)


@command("mute-all")
async def confirm_mute_all(inv: Invocation) -> None:
    """Rule-level writes confirm first: show the rule and a confirmed button."""
    from handlers.rules import rule_buttons

    rule_id = str(inv.command.args["rule_id"])
    rule = await inv.services.kibana.get_rule(rule_id, space=inv.space)
    url = inv.services.kibana.rule_url(rule.id, space=inv.space, public_base=inv.services.settings.kibana_link_base)
    from handlers.blocks import section

    await inv.reply(
        f"Mute all alerts of {rule.name}?",
        blocks=[
            section(
                f"Mute all alerts of *{rule.name}* (`{rule.id}`, {rule.active_alerts} active)? "
                "Press *Mute all* to confirm."
            ),
            rule_buttons(rule, inv.space, rule_url=url),
        ],
    )


@command("disable")
async def confirm_disable(inv: Invocation) -> None:
    target = Target(rule_id=str(inv.command.args["rule_id"]), space=inv.space)
    await open_disable_modal(
        inv.services,
        inv.client,
        trigger_id=inv.trigger_id or "",
        target=target,
        untrack=bool(inv.command.args.get("untrack")),
        origin={"response_url": inv.body.get("response_url"), "channel": inv.actor.channel_id},
    )
