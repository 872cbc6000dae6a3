"""Alert subscriptions: `alerts subscribe|unsubscribe|subscriptions`, and the subscription declared
in settings (ALERTS_SUBSCRIPTION_CHANNEL / ALERTS_SUBSCRIPTION). The poller (`polling.py`) posts them."""

from __future__ import annotations

import logging

from bot.access import Refusal
from bot.alert_filters import AlertFilter
from bot.services import Services
from bot.store import AlertPollState, AlertSubscription, SubscriptionLimitReached
from handlers.alerts.actions import SUBSCRIBE, UNSUBSCRIBE, AlertSubscribeArgs, UnsubscribeArgs
from handlers.shared.audit import check_in_space, no_longer_allowed, no_longer_allowed_line, record
from handlers.shared.blocks import Block, code, context, escape, header, section
from handlers.shared.channels import channel_problem
from handlers.shared.context import Invocation
from handlers.shared.words import count

log = logging.getLogger(__name__)

CONFIG_KEY = "alerts"
MAX_PER_CHANNEL = 50
LISTED = 45  # Slack allows 50 blocks


def describe_filter(wanted: AlertFilter) -> str:
    """Which alerts a filter follows, in a sentence; the rule id or tag as typed, in a code span."""
    if wanted.kind == "rule":
        return f"rule {code(wanted.value)}"
    if wanted.kind == "tag":
        return f"rules tagged {code(wanted.value)}"
    return "every rule"


def describe(subscription: AlertSubscription) -> str:
    return describe_filter(AlertFilter(subscription.kind, subscription.value))


def not_configured(inv: Invocation) -> str | None:
    if inv.services.settings.elasticsearch_url is not None:
        return None
    return (
        "Alert subscriptions read Kibana's alerts-as-data from Elasticsearch, and this bot has no "
        "ELASTICSEARCH_URL. An admin of the bot sets it (with an API key that may `read` `.alerts-*`); "
        "until then alerts reach Slack only through the Kibana webhook (Gold licence or better)."
    )


async def apply_configured_subscription(services: Services) -> None:
    """Create/update the subscription declared in settings, or remove it when they declare none."""
    store, configured = services.store, services.settings.configured_alert_subscription
    if configured is None:
        if await store.remove_config_alert_subscription(CONFIG_KEY):
            log.info("alert subscription from configuration removed (ALERTS_SUBSCRIPTION_CHANNEL unset)")
        return
    channel, space, kind, value = configured
    await store.upsert_config_alert_subscription(
        channel=channel,
        space=space,
        kind=kind,  # type: ignore[arg-type]
        value=value,
        key=CONFIG_KEY,
    )


# ---- commands ----------------------------------------------------------------------------
async def subscribe(inv: Invocation) -> None:
    missing = not_configured(inv)
    if missing is not None:
        await inv.reply(missing)
        return
    wanted = inv.args(AlertSubscribeArgs).filter
    channel = inv.actor.channel_id or ""
    problem = await channel_problem(inv.client, channel, "alerts", direct=False, bot=inv.services.bot_user.name)
    if problem is not None:
        await inv.reply(problem)
        return
    try:
        subscription, created = await inv.services.store.add_alert_subscription(
            channel=channel,
            space=inv.space,
            kind=wanted.kind,
            value=wanted.value,
            created_by=inv.actor.user_id,
            max_per_channel=MAX_PER_CHANNEL,
            max_in_all=inv.services.settings.alerts_max_per_workspace,
        )
    except SubscriptionLimitReached as full:
        await inv.reply(limit_sentence(inv, full))
        return
    if not created:
        await inv.reply(
            f"This channel already gets the alerts of {describe_filter(wanted)} in space `{inv.space}` "
            f"(subscription *#{subscription.id}*)."
        )
        return
    await record(
        inv.services,
        inv.actor,
        "alerts subscribe",
        f"alert subscription {subscription.id}",
        result="ok",
        detail=f"{wanted.words()} in {channel}",
        space=inv.space,
    )
    every = inv.services.settings.alerts_poll_interval
    await inv.reply(
        f"{inv.actor.mention} subscribed this channel to the alerts of {describe_filter(wanted)} in Kibana space "
        f"`{inv.space}` (subscription *#{subscription.id}*). New alerts, and the alerts still active when "
        f"their rule next runs, are posted here within {every:g} s of Kibana writing them; recoveries update "
        f"their message.\nStop with `{inv.slash} alerts unsubscribe {subscription.id}`.",
        public=True,
    )


def limit_sentence(inv: Invocation, full: SubscriptionLimitReached) -> str:
    """Why another alert subscription would be one too many (per channel, ALERTS_MAX_PER_WORKSPACE)."""
    if full.where == "channel":
        return (
            f"This channel already has {full.count} alert subscriptions, the most a channel may have "
            f"({full.limit}). Remove one first: `{inv.slash} alerts subscriptions` lists them."
        )
    return (
        f"The workspace already has {full.count} alert subscriptions, the most it may have "
        f"(ALERTS_MAX_PER_WORKSPACE={full.limit}), so nothing was subscribed. Remove some "
        f"(`{inv.slash} alerts unsubscribe <id>` in their channels), or ask an admin of the bot to raise the limit."
    )


async def unsubscribe(inv: Invocation) -> None:
    store, channel = inv.services.store, inv.actor.channel_id or ""
    target = inv.args(UnsubscribeArgs).target
    if target == "all":
        mine = await store.list_alert_subscriptions(channel=channel)
        allowed: list[AlertSubscription] = []
        refused: list[tuple[AlertSubscription, Refusal]] = []
        for s in mine:
            if s.from_config:
                continue
            refusal = await check_in_space(
                inv.services, inv.actor, UNSUBSCRIBE, f"alert subscription {s.id}", space=s.space
            )
            if refusal is None:
                allowed.append(s)
            else:
                refused.append((s, refusal))
        removed = [s for s in allowed if await store.remove_alert_subscription(s.id, channel=channel)]
        kept = [s for s in mine if s.from_config]
        not_yours = _kept_for_spaces([s for s, _ in refused])
        if not removed and refused:
            await inv.reply(f"{refused[0][1].message()}{not_yours} Nothing was removed.")
            return
        if not removed:
            note = " (only the one declared in configuration, which settings control)" if kept else ""
            await inv.reply(f"This channel has no alert subscriptions to remove{note}.")
            return
        ids = ", ".join(f"#{s.id}" for s in removed)
        await record(inv.services, inv.actor, "alerts unsubscribe", "all", result="ok", detail=f"{ids} in {channel}")
        await inv.reply(
            f"{inv.actor.mention} removed {count(len(removed), 'alert subscription')} from this channel: "
            f"{ids}.{not_yours}",
            public=True,
        )
        return
    subscription = await store.get_alert_subscription(int(target))
    if subscription is None or subscription.channel != channel:
        await inv.reply(
            f"There is no alert subscription #{target} in this channel. "
            f"See this channel's subscriptions with `{inv.slash} alerts subscriptions`."
        )
        return
    if subscription.from_config:
        await inv.reply(
            f"Subscription #{target} is declared in the bot's configuration (ALERTS_SUBSCRIPTION_CHANNEL, "
            "ALERTS_SUBSCRIPTION); an admin removes it by unsetting those settings."
        )
        return
    refusal = await check_in_space(
        inv.services, inv.actor, UNSUBSCRIBE, f"alert subscription {subscription.id}", space=subscription.space
    )
    if refusal is not None:
        await inv.reply(refusal.message())
        return
    if await store.remove_alert_subscription(subscription.id, channel=channel):
        await record(
            inv.services,
            inv.actor,
            "alerts unsubscribe",
            f"alert subscription {subscription.id}",
            result="ok",
            detail=f"{AlertFilter(subscription.kind, subscription.value).words()} in {channel}",
            space=subscription.space,
        )
    await inv.reply(
        f"{inv.actor.mention} removed alert subscription #{target} ({describe(subscription)}, "
        f"space `{subscription.space}`).",
        public=True,
    )


def _kept_for_spaces(refused: list[AlertSubscription]) -> str:
    """What `unsubscribe all` left because the access policy does not let this person act in its space."""
    if not refused:
        return ""
    ids = ", ".join(f"#{s.id} (space `{s.space}`)" for s in refused)
    return (
        f" Kept {ids}: the access policy does not give you the *{UNSUBSCRIBE.role}* role in "
        f"{'that space' if len({s.space for s in refused}) == 1 else 'those spaces'}."
    )


async def list_subscriptions(inv: Invocation) -> None:
    store = inv.services.store
    mine = await store.list_alert_subscriptions(channel=inv.actor.channel_id or "")
    if not mine:
        await inv.reply(
            "No alerts are posted in this channel by subscription. Add some with "
            f"`{inv.slash} alerts subscribe --all`, `… --tag <tag>` or `… --rule <id>` (add `--space <id>` for "
            "another space)."
        )
        return
    states = {state.space: state for state in await store.alert_poll_states()}
    stale = await no_longer_allowed(inv.services, mine[:LISTED], SUBSCRIBE)
    await inv.reply(
        f"{count(len(mine), 'alert subscription')} in this channel",
        blocks=subscription_blocks(mine, states, inv.slash, stale),
    )


def subscription_blocks(
    subscriptions: list[AlertSubscription],
    states: dict[str, AlertPollState],
    slash: str,
    stale: frozenset[int] = frozenset(),
) -> list[Block]:
    blocks: list[Block] = [header("Alert subscriptions in this channel")]
    for subscription in subscriptions[:LISTED]:
        facts = [f"*#{subscription.id}* · {describe(subscription)}", f"space `{subscription.space}`"]
        if subscription.from_config:
            facts.append("from configuration")
        state = states.get(subscription.space)
        if state is not None and state.problem is not None:
            since = state.problem_since.strftime("%Y-%m-%d %H:%M UTC") if state.problem_since else "a while"
            line = f":warning: *not reading alerts* since {since}: {escape(state.problem_text or state.problem)}"
        else:
            line = "reading alerts from Elasticsearch"
        if subscription.id in stale:
            line += "\n" + no_longer_allowed_line(subscription, f"{slash} alerts unsubscribe")
        blocks.append(section(" · ".join(facts) + "\n" + line))
    if len(subscriptions) > LISTED:
        blocks.append(context(f"…and {len(subscriptions) - LISTED} more."))
    blocks.append(context(f"Remove one with `{slash} alerts unsubscribe <id>`, all with `… unsubscribe all`."))
    return blocks
