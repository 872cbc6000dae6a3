"""`/kibana audit [rule <id>] [last <n>]`: operators see the trail of state-changing actions,
newest first, as one ephemeral message. Every field that came from someone else is escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.store import AuditEntry
from handlers.access.actions import AUDIT, AuditArgs
from handlers.shared.blocks import SECTION_TEXT_LIMIT, Block, clip, code, context, escape, header, section
from handlers.shared.context import Invocation
from handlers.shared.words import count

MESSAGE_BLOCK_LIMIT = 50
ENTRIES_PER_SECTION = 10
SLACK_ID = re.compile(r"[A-Z0-9]{2,20}")
_RESULT_MARK = {"ok": ":white_check_mark: ok", "error": ":x: error", "refused": ":no_entry: refused"}


async def show_audit(inv: Invocation) -> None:
    """The latest entries, of the spaces where the access policy gives the reader the audit's role."""
    args = inv.args(AuditArgs)
    actor = inv.actor
    spaces = await inv.services.access.spaces_with(actor.user_id, actor.channel_id, AUDIT.role)
    entries = await inv.services.store.list_audit(rule_id=args.rule_id, limit=args.limit, spaces=spaces)
    about = f" for rule {code(args.rule_id)}" if args.rule_id else ""
    if spaces is not None:
        about += f" in space{'' if len(spaces) == 1 else 's'} {', '.join(code(s) for s in sorted(spaces))}"
    if not entries:
        await inv.reply(f"The audit trail has no entries{about} yet.")
        return
    text = f"Audit trail{about}: the latest {count(len(entries), 'entry', 'entries')}, newest first."
    await inv.reply(text, blocks=audit_blocks(entries, title=f"Audit trail{about}"))


def audit_line(entry: AuditEntry) -> str:
    """One entry on one line: time, who, action, target, space, result, Kibana status."""
    when = entry.at.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    target = f" {code(clip(entry.target, 120))}" if entry.target else ""
    result = _RESULT_MARK.get(entry.result, escape(entry.result))
    if entry.kibana_status is not None:
        status = f"Kibana {entry.kibana_status}"
    elif entry.result == "refused":
        status = "Kibana not called"
    else:
        status = "Kibana —"
    channel = f" in {_mention(entry.channel, '#')}" if entry.channel else ""
    action = f"*{escape(entry.action)}*{target}"
    who = _mention(entry.user_id, "@")
    if entry.kibana_identity:
        who += f" (Kibana: {code(clip(entry.kibana_identity, 80))})"
    return f"{when} · {who}{channel} · {action} · space {code(entry.space)} · {result} · {status}"


def _mention(slack_id: str, sigil: str) -> str:
    """A Slack user or channel id as a mention; anything that is not an id is shown as code."""
    return f"<{sigil}{slack_id}>" if SLACK_ID.fullmatch(slack_id) else code(slack_id)


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
