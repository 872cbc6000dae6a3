"""Scheduled health reports: `health subscribe|unsubscribe|subscriptions`, the subscription
declared in settings (HEALTH_CHANNEL/HEALTH_SCHEDULE), and the scheduler that posts them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.access import Refusal
from bot.schedule import Schedule, ScheduleError, parse_schedule
from bot.scheduler import ChannelUnusable, HealthScheduler
from bot.services import Services
from bot.settings import Settings
from bot.store import Subscription, SubscriptionLimitReached
from handlers.health.actions import SUBSCRIBE, SUBSCRIPTIONS, UNSUBSCRIBE, SubscribeArgs, UnsubscribeArgs
from handlers.health.quieted import quieted_block
from handlers.health.report import HealthOutcome, check_health, health_blocks, health_text
from handlers.shared.audit import check_in_space, no_longer_allowed, no_longer_allowed_line, record
from handlers.shared.blocks import Block, context, escape, header, section
from handlers.shared.channels import CHANNEL_ERRORS, ChannelRefused, channel_problem
from handlers.shared.context import Invocation
from handlers.shared.feature import Contribution, Plumbing, Route
from handlers.shared.replies import Replies
from handlers.shared.words import count

log = logging.getLogger(__name__)

CONFIG_KEY = "health"
POLL_SECONDS = 30.0
NEXT_TIMES = 3


# ---- wiring ------------------------------------------------------------------------------
def register(plumbing: Plumbing) -> Contribution:
    """The subscription commands, and the scheduler that starts with the server."""
    services = plumbing.services
    configured = configured_schedule(services.settings)
    scheduler = make_scheduler(services, plumbing.replies)

    async def start() -> None:
        await apply_configured_subscription(services, configured)
        await scheduler.start()

    def with_scheduler(route: Callable[[Invocation, HealthScheduler[HealthOutcome]], Awaitable[None]]) -> Route:
        async def run(inv: Invocation) -> None:
            await route(inv, scheduler)

        return run

    commands: dict[str, Route] = {
        SUBSCRIBE.name: with_scheduler(subscribe),
        UNSUBSCRIBE.name: with_scheduler(unsubscribe),
        SUBSCRIPTIONS.name: list_subscriptions,
    }
    return Contribution(commands=commands, background=[start], closers=[scheduler.close], parts=[scheduler])


def make_scheduler(
    services: Services, replies: Replies, *, poll_seconds: float = POLL_SECONDS
) -> HealthScheduler[HealthOutcome]:
    async def check(space: str) -> HealthOutcome:
        return await check_health(services.kibana, space)

    async def post(subscription: Subscription, outcome: HealthOutcome) -> None:
        await post_report(services, replies, subscription, outcome)

    return HealthScheduler(services.store, check=check, post=post, replica=services.replica, poll_seconds=poll_seconds)


def configured_schedule(settings: Settings) -> Schedule | None:
    """HEALTH_SCHEDULE parsed (the settings checked it at load), or None when no subscription is declared."""
    if not settings.health_schedule or not settings.health_channel:
        return None
    return parse_schedule(settings.health_schedule, offer_on_change=False)  # it has no --on-change


async def apply_configured_subscription(services: Services, schedule: Schedule | None) -> None:
    """Create/update the subscription declared in settings, or remove it when they declare none."""
    store, settings = services.store, services.settings
    if schedule is None or not settings.health_channel:
        if await store.remove_config_subscription(CONFIG_KEY):
            log.info("health subscription from configuration removed (HEALTH_CHANNEL/HEALTH_SCHEDULE unset)")
        return
    subscription = await store.upsert_config_subscription(
        channel=settings.health_channel,
        space=settings.kibana_space,
        schedule=schedule.text,
        cron=schedule.cron,
        timezone=schedule.timezone,
        key=CONFIG_KEY,
    )
    if subscription.paused:  # a restart is the operator's way to say "try that channel again"
        log.info("health subscription %d from configuration resumed at start-up", subscription.id)
        await store.set_subscription_paused(subscription.id, False)


# ---- posting a report --------------------------------------------------------------------
async def post_report(services: Services, replies: Replies, subscription: Subscription, outcome: HealthOutcome) -> None:
    """Post one report (a Slack 429 is the limiter's to wait out); a channel Slack refuses (it will not
    go away by trying again) raises ChannelUnusable: the subscription is paused."""
    blocks = health_blocks(outcome, footer=report_footer(services, subscription))
    quieted = await quieted_block(services, subscription.space)
    if quieted is not None:  # before the footer: what is muted or snoozed, and until when
        blocks.insert(len(blocks) - 1, quieted)
    try:
        await replies.post(subscription.channel, health_text(outcome), blocks=blocks)
    except ChannelRefused as refused:
        raise ChannelUnusable(f"{CHANNEL_ERRORS[refused.code].what} ({refused.code})") from None


def report_footer(services: Services, subscription: Subscription) -> str:
    schedule = _schedule(subscription).describe()
    if subscription.from_config:
        return f"Scheduled report ({schedule}) from configuration"
    slash = services.settings.slack_command
    return (
        f"Scheduled report #{subscription.id} ({schedule}) · stop with `{slash} health unsubscribe {subscription.id}`"
    )


# ---- commands ----------------------------------------------------------------------------
async def subscribe(inv: Invocation, scheduler: HealthScheduler[HealthOutcome]) -> None:
    args = inv.args(SubscribeArgs)
    raw, on_change = args.schedule, args.on_change
    try:
        schedule = parse_schedule(raw, on_change=on_change)  # --on-change may check every minute
    except ScheduleError as error:
        await inv.reply(f"{error}\nUsage: `{inv.slash} {SUBSCRIBE.usage}`")
        return
    channel = inv.actor.channel_id or ""
    problem = await channel_problem(inv.client, channel, "reports", direct=True, bot=inv.services.bot_user.name)
    if problem is not None:
        await inv.reply(problem)
        return
    settings = inv.services.settings
    try:
        subscription = await inv.services.store.add_subscription(
            channel=channel,
            space=inv.space,
            schedule=schedule.text,
            cron=schedule.cron,
            timezone=schedule.timezone,
            on_change=on_change,
            created_by=inv.actor.user_id,
            max_per_channel=settings.health_max_per_channel,
            max_in_all=settings.health_max_per_workspace,
        )
    except SubscriptionLimitReached as full:
        await inv.reply(limit_sentence(inv, full))
        return
    await scheduler.sync()
    await record(
        inv.services,
        inv.actor,
        "health subscribe",
        f"subscription {subscription.id}",
        result="ok",
        detail=f"{schedule.text}{' --on-change' if on_change else ''} in {channel}",
        space=inv.space,
    )
    times = ", ".join(_moment(t) for t in schedule.next_fire_times(datetime.now(UTC), NEXT_TIMES))
    when = "when the health changes, checked " if on_change else ""
    await inv.reply(
        f"{inv.actor.mention} subscribed this channel to Kibana alerting health reports for space "
        f"`{inv.space}` {when}{schedule.describe()} (subscription *#{subscription.id}*).\n"
        f"Next: {times}.\nStop with `{inv.slash} health unsubscribe {subscription.id}`.",
        public=True,
    )


def limit_sentence(inv: Invocation, full: SubscriptionLimitReached) -> str:
    """Why another subscription would be one too many (HEALTH_MAX_PER_CHANNEL, HEALTH_MAX_PER_WORKSPACE)."""
    if full.where == "channel":
        return (
            f"This channel already has {full.count} health-report subscriptions, the most a channel may have "
            f"(HEALTH_MAX_PER_CHANNEL={full.limit}). Remove one first: "
            f"`{inv.slash} health subscriptions` lists them."
        )
    return (
        f"The workspace already has {full.count} health-report subscriptions, the most it may have "
        f"(HEALTH_MAX_PER_WORKSPACE={full.limit}). Remove some, or ask an admin of the bot to raise the limit."
    )


async def unsubscribe(inv: Invocation, scheduler: HealthScheduler[HealthOutcome]) -> None:
    store, channel = inv.services.store, inv.actor.channel_id or ""
    target = inv.args(UnsubscribeArgs).target
    if target == "all":
        mine = await store.list_subscriptions(channel=channel)
        allowed: list[Subscription] = []
        refused: list[tuple[Subscription, Refusal]] = []
        for s in mine:
            if s.from_config:
                continue
            refusal = await check_in_space(inv.services, inv.actor, UNSUBSCRIBE, f"subscription {s.id}", space=s.space)
            if refusal is None:
                allowed.append(s)
            else:
                refused.append((s, refusal))
        removed = [s.id for s in allowed if await store.remove_subscription(s.id, channel=channel)]
        kept = [s for s in mine if s.from_config]
        not_yours = _kept_for_spaces([s for s, _ in refused])
        if not removed and refused:
            await inv.reply(f"{refused[0][1].message()}{not_yours} Nothing was removed.")
            return
        if not removed:
            note = " (only the one declared in configuration, which settings control)" if kept else ""
            await inv.reply(f"This channel has no health-report subscriptions to remove{note}.")
            return
        await scheduler.sync()
        ids = ", ".join(f"#{i}" for i in removed)
        await record(inv.services, inv.actor, "health unsubscribe", "all", result="ok", detail=f"{ids} in {channel}")
        removed_words = count(len(removed), "health-report subscription")
        await inv.reply(
            f"{inv.actor.mention} removed {removed_words} from this channel: {ids}.{not_yours}", public=True
        )
        return
    subscription = await store.get_subscription(int(target))
    if subscription is None or subscription.channel != channel:
        await inv.reply(
            f"There is no health-report subscription #{target} in this channel. "
            f"See this channel's subscriptions with `{inv.slash} health subscriptions`."
        )
        return
    if subscription.from_config:
        await inv.reply(
            f"Subscription #{target} is declared in the bot's configuration (HEALTH_CHANNEL, HEALTH_SCHEDULE); "
            "an admin removes it by unsetting those settings."
        )
        return
    refusal = await check_in_space(
        inv.services, inv.actor, UNSUBSCRIBE, f"subscription {subscription.id}", space=subscription.space
    )
    if refusal is not None:
        await inv.reply(refusal.message())
        return
    if await store.remove_subscription(subscription.id, channel=channel):
        await scheduler.sync()
        await record(
            inv.services,
            inv.actor,
            "health unsubscribe",
            f"subscription {subscription.id}",
            result="ok",
            detail=f"{subscription.schedule} in {channel}",
            space=subscription.space,
        )
    await inv.reply(
        f"{inv.actor.mention} removed health-report subscription #{target} "
        f"({_schedule(subscription).describe()}, space `{subscription.space}`).",
        public=True,
    )


def _kept_for_spaces(refused: list[Subscription]) -> str:
    """What `unsubscribe all` left because the access policy does not let this person act in its space."""
    if not refused:
        return ""
    ids = ", ".join(f"#{s.id} (space `{s.space}`)" for s in refused)
    where = "that space" if len({s.space for s in refused}) == 1 else "those spaces"
    return f" Kept {ids}: the access policy does not give you the *{UNSUBSCRIBE.role}* role in {where}."


async def list_subscriptions(inv: Invocation) -> None:
    mine = await inv.services.store.list_subscriptions(channel=inv.actor.channel_id or "")
    if not mine:
        await inv.reply(
            "No health reports are posted in this channel. "
            f"Add one with `{inv.slash} health subscribe every 1h` or `{inv.slash} health subscribe daily 09:00`."
        )
        return
    stale = await no_longer_allowed(inv.services, mine[:45], SUBSCRIBE)
    await inv.reply(
        f"{count(len(mine), 'health-report subscription')} in this channel",
        blocks=subscription_blocks(mine, inv.slash, stale),
    )


def subscription_blocks(
    subscriptions: list[Subscription], slash: str, stale: frozenset[int] = frozenset()
) -> list[Block]:
    blocks: list[Block] = [header("Health reports in this channel")]
    now = datetime.now(UTC)
    for subscription in subscriptions[:45]:  # Slack allows 50 blocks
        schedule = _schedule(subscription)
        facts = [f"*#{subscription.id}* · {schedule.describe()}", f"space `{subscription.space}`"]
        facts.append("only when the health changes" if subscription.on_change else "every time")
        if subscription.from_config:
            facts.append("from configuration")
        if subscription.paused:
            reason = escape(subscription.paused_reason or "no reason recorded")
            state = f":double_vertical_bar: *paused*: {reason} — invite the bot, then subscribe again"
        else:
            upcoming = schedule.next_fire_times(now, 1)
            state = f"next report {_moment(upcoming[0])}" if upcoming else "no further reports"
        if subscription.id in stale:
            state += "\n" + no_longer_allowed_line(subscription, f"{slash} health unsubscribe")
        blocks.append(section(" · ".join(facts) + "\n" + state))
    if len(subscriptions) > 45:
        blocks.append(context(f"…and {len(subscriptions) - 45} more."))
    blocks.append(context(f"Remove one with `{slash} health unsubscribe <id>`, all with `… unsubscribe all`."))
    return blocks


def _schedule(subscription: Subscription) -> Schedule:
    return Schedule(text=subscription.schedule, cron=subscription.cron, timezone=subscription.timezone)


def _moment(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone (UTC as the fallback text)."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
