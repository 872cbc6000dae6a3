"""`/kibana whoami` and `/kibana can-i <action>`: the access policy explained to the person
asking (their role here, where it comes from, what it allows)."""

from __future__ import annotations

from bot.access import Role
from handlers.shared.blocks import Block, context, escape, section
from handlers.shared.catalog import Catalog
from handlers.shared.context import Invocation
from handlers.shared.feature import Route
from handlers.shared.grammar import ActionArgs


def actions_by_role(catalog: Catalog, up_to: Role) -> dict[Role, list[str]]:
    """The actions each role from viewer to `up_to` adds, in the policy's order."""
    grouped: dict[Role, list[str]] = {}
    for entry in catalog.rows:
        if entry.role <= up_to:
            grouped.setdefault(entry.role, []).append(entry.name)
    return dict(sorted(grouped.items()))


def _where(channel_id: str | None) -> str:
    return f" in <#{channel_id}>" if channel_id else ""


def whoami(catalog: Catalog) -> Route:
    """Your role here, where it comes from, and what it allows (from the catalog)."""

    async def answer(inv: Invocation) -> None:
        await _whoami(inv, catalog)

    return answer


def can_i(catalog: Catalog) -> Route:
    """Whether you may do an action of the catalog, here (and where else you may)."""

    async def answer(inv: Invocation) -> None:
        await _can_i(inv, catalog)

    return answer


async def _whoami(inv: Invocation, catalog: Catalog) -> None:
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
    for granted, names in actions_by_role(catalog, role).items():
        listed = ", ".join(f"`{name}`" for name in names)
        blocks.append(section(f"*{granted}*: {listed}"))
    higher = [str(r) for r in Role if r > role]
    if higher:
        blocks.append(
            context(f"Roles above yours: {', '.join(higher)}. An admin of this bot grants them in ACCESS_POLICY.")
        )
    await inv.reply(f"You are {role}{_where(actor.channel_id)}.", blocks=blocks)


async def _can_i(inv: Invocation, catalog: Catalog) -> None:
    actor = inv.actor
    asked = catalog.action(inv.args(ActionArgs).action)
    needed = asked.role
    refusal = await inv.services.access.check(actor.user_id, actor.channel_id, asked)
    if refusal is None:
        decision = await inv.services.access.role_of(actor.user_id, actor.channel_id)
        await inv.reply(
            f"Yes: `{asked.name}` needs the *{needed}* role, and you are *{decision.role}*{_where(actor.channel_id)}."
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
