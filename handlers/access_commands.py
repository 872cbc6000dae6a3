"""`/kibana whoami`, `/kibana can-i <action>` and `/kibana audit [rule <id>] [last <n>]`.

whoami and can-i explain the access policy to the person asking (their role here, where
it comes from, what it allows); audit shows operators the trail of state-changing
actions, newest first, as one ephemeral message.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.access import ACTIONS, Role
from bot.store import AuditEntry
from handlers.blocks import SECTION_TEXT_LIMIT, Block, clip, context, escape, header, section
from handlers.commands import command
from handlers.context import Invocation

MESSAGE_BLOCK_LIMIT = 50
ENTRIES_PER_SECTION = 10
_RESULT_MARK = {"ok": ":white_check_mark: ok", "error": ":x: error", "refused": ":no_entry: refused"}


def actions_by_role(up_to: Role) -> dict[Role, list[str]]:
    """The actions each role from viewer to `up_to` adds, in the policy's order."""
    grouped: dict[Role, list[str]] = {}
    for action, needed in ACTIONS.items():
        if needed <= up_to:
            grouped.setdefault(needed, []).append(action)
    return dict(sorted(grouped.items()))


def _where(channel_id: str | None) -> str:
    return f" in <#{channel_id}>" if channel_id else ""


@command("whoami")
async def whoami(inv: Invocation) -> None:
    actor = inv.actor
    decision = await inv.services.access.role_of(actor.user_id, actor.channel_id)
    role = decision.role
    source = inv.services.access.policy.source
    if role is Role.NONE:
        title = f"You have no role{_where(actor.channel_id)}, so you cannot use this bot here."
    else:
        title = f"You are *{role}*{_where(actor.channel_id)}."
    reasons = "\n".join(f"• {escape(reason)}" for reason in decision.reasons)
    blocks: list[Block] = [section(f"{title}\n*Where it comes from* (policy: {escape(source)}):\n{reasons}")]
    for granted, names in actions_by_role(role).items():
        listed = ", ".join(f"`{name}`" for name in names)
        blocks.append(section(f"*{granted}*: {listed}"))
    higher = [str(r) for r in Role if r > role]
    if higher:
        blocks.append(
            context(f"Roles above yours: {', '.join(higher)}. An admin of this bot grants them in ACCESS_POLICY.")
        )
    await inv.reply(f"You are {role}{_where(actor.channel_id)}.", blocks=blocks)


@command("can-i")
async def can_i(inv: Invocation) -> None:
    actor = inv.actor
    action = str(inv.command.args["action"])
    needed = ACTIONS[action]
    refusal = await inv.services.access.check(actor.user_id, actor.channel_id, action)
    if refusal is None:
        decision = await inv.services.access.role_of(actor.user_id, actor.channel_id)
        await inv.reply(
            f"Yes: `{action}` needs the *{needed}* role, and you are *{decision.role}*{_where(actor.channel_id)}."
        )
        return
    elsewhere = await _channels_where_allowed(inv, needed)
    hint = f"\nYou do have it in {', '.join(f'<#{c}>' for c in elsewhere)}." if elsewhere else ""
    await inv.reply(f"No{_where(actor.channel_id)}. {refusal.message()}{hint}")


async def _channels_where_allowed(inv: Invocation, needed: Role) -> list[str]:
    """Channels where a channel-limited grant gives this user the role (so they can act there)."""
    policy = inv.services.access.policy
    channels = sorted(
        {c for g in policy.grants if g.channels and g.role >= needed for c in g.channels} - {inv.actor.channel_id}
    )
    found = []
    for channel in channels[:20]:
        decision = await inv.services.access.role_of(inv.actor.user_id, channel)
        if decision.role >= needed:
            found.append(channel)
    return found


@command("audit")
async def show_audit(inv: Invocation) -> None:
    args = inv.command.args
    rule_id = args.get("rule_id")
    limit = args.get("limit")
    entries = await inv.services.store.list_audit(
        rule_id=rule_id if isinstance(rule_id, str) else None,
        limit=limit if isinstance(limit, int) else 20,
    )
    about = f" for rule `{rule_id}`" if isinstance(rule_id, str) else ""
    if not entries:
        await inv.reply(f"The audit trail has no entries{about} yet.")
        return
    text = f"Audit trail{about}: the latest {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, newest first."
    await inv.reply(text, blocks=audit_blocks(entries, title=f"Audit trail{about}"))


def audit_line(entry: AuditEntry) -> str:
    """One entry on one line: time, who, action, target, space, result, Kibana status."""
    when = entry.at.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    target = f" `{escape(clip(entry.target, 120))}`" if entry.target else ""
    result = _RESULT_MARK.get(entry.result, escape(entry.result))
    if entry.kibana_status is not None:
        status = f"Kibana {entry.kibana_status}"
    elif entry.result == "refused":
        status = "Kibana not called"
    else:
        status = "Kibana —"
    channel = f" in <#{entry.channel}>" if entry.channel else ""
    action = f"*{escape(entry.action)}*{target}"
    return f"{when} · <@{entry.user_id}>{channel} · {action} · space `{entry.space}` · {result} · {status}"


def audit_blocks(entries: Iterable[AuditEntry], *, title: str) -> list[Block]:
    """A header and sections of up to ENTRIES_PER_SECTION lines each, within Slack's 50 blocks."""
    blocks: list[Block] = [header(title)]
    lines: list[str] = []
    size = 0
    for line in (audit_line(e) for e in entries):
        if lines and (len(lines) >= ENTRIES_PER_SECTION or size + len(line) + 1 > SECTION_TEXT_LIMIT):
            blocks.append(section("\n".join(lines)))
            lines, size = [], 0
        lines.append(clip(line, SECTION_TEXT_LIMIT))
        size += len(line) + 1
    if lines:
        blocks.append(section("\n".join(lines)))
    if len(blocks) > MESSAGE_BLOCK_LIMIT:  # cannot happen with `last` ≤ 100, but never send what Slack rejects
        more = context("More entries than one message holds: use `last <n>`.")
        blocks = [*blocks[: MESSAGE_BLOCK_LIMIT - 1], more]
    return blocks
