"""`/kibana whoami` and `/kibana can-i <action>`: the access policy explained to the person
asking (their role here, where it comes from, what it allows)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.access import Role, Scope, Where
from bot.credentials import shown_key_id
from handlers.shared.blocks import Block, code, context, escape, section
from handlers.shared.catalog import Catalog
from handlers.shared.context import Invocation
from handlers.shared.feature import Route
from handlers.shared.grammar import ActionArgs


def actions_by_role(catalog: Catalog, up_to: Role | Mapping[Scope, Role]) -> dict[Role, list[str]]:
    """The actions each role from viewer to `up_to` adds, in the policy's order; `up_to` by scope when
    the policy limits grants to spaces (the role in this space, in every space, in any space)."""
    grouped: dict[Role, list[str]] = {}
    for entry in catalog.rows:
        limit = up_to if isinstance(up_to, Role) else up_to[entry.scope]
        if entry.role <= limit:
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


SPACES_LISTED = 20  # spaces named by the policy that whoami lists one by one


async def _whoami(inv: Invocation, catalog: Catalog) -> None:
    actor, access = inv.actor, inv.services.access
    spaced = bool(access.policy.spaces)
    decision = await access.role_of(actor.user_id, actor.channel_id, inv.space if spaced else Scope.BOT)
    role = decision.role
    here = _where(actor.channel_id) + (f" in space `{inv.space}`" if spaced else "")
    source = access.policy.source
    if role is Role.NONE and spaced:
        title = f"You have no role{here}; below, your role in each space."
    elif role is Role.NONE:
        title = f"You have no role{here}, so you cannot use this bot here."
    else:
        title = f"You are *{role}*{here}."
    reasons = "\n".join(f"• {escape(reason)}" for reason in decision.reasons)
    blocks: list[Block] = [section(f"{title}\n*Where it comes from* (policy: {escape(source)}):\n{reasons}")]
    up_to: Role | dict[Scope, Role] = role
    if spaced:
        everywhere = (await access.role_of(actor.user_id, actor.channel_id, Scope.DEPLOYMENT)).role
        anywhere = (await access.role_of(actor.user_id, actor.channel_id, Scope.BOT)).role
        up_to = {Scope.SPACE: role, Scope.DEPLOYMENT: everywhere, Scope.BOT: anywhere}
        blocks.append(section(await _by_space(inv, everywhere)))
    for granted, names in actions_by_role(catalog, up_to).items():
        listed = ", ".join(f"`{name}`" for name in names)
        blocks.append(section(f"*{granted}*: {listed}"))
    if inv.services.people is not None:
        blocks.append(section(await _kibana_link(inv)))
    higher = [str(r) for r in Role if r > role]
    if higher:
        blocks.append(
            context(f"Roles above yours: {', '.join(higher)}. An admin of this bot grants them in ACCESS_POLICY.")
        )
    await inv.reply(f"You are {role}{here}.", blocks=blocks)


async def _kibana_link(inv: Invocation) -> str:
    """Whose Kibana credential your requests carry (KIBANA_IDENTITY=person): your link, or that there is none."""
    people, actor = inv.services.people, inv.actor
    assert people is not None
    link = await people.link_of(actor.team_id, actor.user_id)
    if link is None:
        return f"*In Kibana*: your account is not connected; `{inv.slash} connect` links your own API key."
    key = f"API key {code(shown_key_id(link.key.key_id))}"
    who = f"as {code(link.key.kibana_user)} ({key})" if link.key.kibana_user else f"with {key}"
    if link.stale:
        return f"*In Kibana*: Kibana rejected your linked {key} (expired or revoked); `{inv.slash} connect` a new one."
    return f"*In Kibana*: you act {who}. `{inv.slash} disconnect` forgets it."


async def _by_space(inv: Invocation, everywhere: Role) -> str:
    """Your role in each space the policy names, and in every other (which APM's commands need)."""
    actor, access = inv.actor, inv.services.access
    named = sorted(access.policy.spaces)
    lines = []
    for space in named[:SPACES_LISTED]:
        role = (await access.role_of(actor.user_id, actor.channel_id, space)).role
        lines.append(f"• `{space}`: *{role}*")
    if len(named) > SPACES_LISTED:
        lines.append(f"• …and {len(named) - SPACES_LISTED} more spaces: ask with `{inv.slash} whoami --space <id>`")
    lines.append(f"• every other space, and APM (Kibana keeps it for all spaces): *{everywhere}*")
    return "*By Kibana space* (the access policy limits some grants to spaces):\n" + "\n".join(lines)


async def _can_i(inv: Invocation, catalog: Catalog) -> None:
    actor, access = inv.actor, inv.services.access
    asked = catalog.action(inv.args(ActionArgs).action)
    needed = asked.role
    spaced = bool(access.policy.spaces)
    where = access.where(asked, inv.space)
    there = _where(actor.channel_id) + (_space_words(where) if spaced else "")
    refusal = await access.check(actor.user_id, actor.channel_id, asked, inv.space)
    if refusal is None:
        decision = await access.role_of(actor.user_id, actor.channel_id, where if spaced else Scope.BOT)
        await inv.reply(f"Yes: `{asked.name}` needs the *{needed}* role, and you are *{decision.role}*{there}.")
        return
    hints = []
    elsewhere = await _channels_where_allowed(inv, needed, where)
    if elsewhere:
        hints.append(f"You do have it in {', '.join(f'<#{c}>' for c in elsewhere)}.")
    if spaced and isinstance(where, str):
        spaces = await access.spaces_with(actor.user_id, actor.channel_id, needed)
        if spaces:
            listed = ", ".join(f"`{s}`" for s in sorted(spaces)[:SPACES_LISTED])
            plural = "s" if len(spaces) > 1 else ""
            hints.append(f"You do have it{_where(actor.channel_id)} in space{plural} {listed} (add `--space <id>`).")
    hint = "".join(f"\n{h}" for h in hints)
    await inv.reply(f"No{there}. {refusal.message()}{hint}")


def _space_words(where: Where) -> str:
    if where is Scope.BOT:
        return ""
    if isinstance(where, Scope):
        return " in every Kibana space"
    return f" in space `{where}`"


async def _channels_where_allowed(inv: Invocation, needed: Role, where: Where) -> list[str]:
    """Channels where a channel-limited grant gives this user the role (so they can act there)."""
    policy = inv.services.access.policy
    channels = sorted(
        {c for g in policy.grants if g.channels and g.role >= needed for c in g.channels} - {inv.actor.channel_id}
    )
    found = []
    for channel in channels[:20]:
        decision = await inv.services.access.role_of(inv.actor.user_id, channel, where)
        if decision.role >= needed:
            found.append(channel)
    return found
