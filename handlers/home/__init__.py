"""App Home: a person's own state in one place, published to their Home tab each time they open it
(`app_home_opened` → `views.publish`), and by `home`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.services import Services
from handlers.home.actions import ACTIONS, HOME, HOME_LINK, HOME_REFRESH, RefreshButton
from handlers.home.facts import gather
from handlers.home.page import home_view
from handlers.shared.context import Invocation
from handlers.shared.feature import Contribution, Plumbing
from handlers.shared.guard import Aim, Click, packed
from handlers.shared.interaction import Interaction

__all__ = ["ACTIONS", "register"]

log = logging.getLogger(__name__)


async def publish_home(services: Services, user_id: str, team_id: str | None, *, shown: str | None = None) -> None:
    """Read the person's state and publish their Home tab (slack_sdk raises what Slack refused).
    `shown`: the hash of the view the person has, so that of two openings drawn at once the one
    that read older state does not replace the other's (Slack answers it `hash_conflict`)."""
    facts = await gather(services, user_id, team_id)
    settings = services.settings
    view = home_view(facts, command=settings.slack_command, kibana_base=settings.kibana_link_base)
    try:
        await services.slack.views_publish(user_id=user_id, view=view, hash=shown)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        log.info("App Home of %s: another opening drew it first", user_id)


def register(plumbing: Plumbing) -> Contribution:
    services = plumbing.services

    async def on_home_opened(ack: AsyncAck, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("tab") != "home" or not isinstance(event.get("user"), str):
            return  # the Messages tab: nothing to draw
        services.track_current_task()
        try:
            view = event.get("view")
            shown = view.get("hash") if isinstance(view, dict) else None
            await publish_home(services, event["user"], body.get("team_id"), shown=shown)
        except Exception:
            log.exception("App Home: could not publish the Home tab of %s", event["user"])

    async def home_command(inv: Invocation) -> None:
        await publish_home(inv.services, inv.actor.user_id, inv.actor.team_id)
        await inv.reply("Your App Home is up to date: open the bot's *Home* tab to see it.")

    async def refreshed(_button: RefreshButton, interaction: Interaction) -> None:
        await publish_home(services, interaction.actor.user_id, interaction.actor.team_id)
        if interaction.response_url or interaction.channel:  # from a message; on the Home tab, the page is the answer
            await plumbing.replies.privately(
                interaction.surface, "Your App Home is up to date: open the bot's *Home* tab."
            )

    refresh = Click(
        decode=packed(RefreshButton.unpack),
        aim=lambda _button: Aim("home", services.settings.kibana_space),
        run=refreshed,
    )

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a link the client opens

    return Contribution(
        commands={HOME.name: home_command},
        actions={HOME_LINK: on_link, f"{HOME_LINK}_cases": on_link, HOME_REFRESH: plumbing.guard.click(refresh)},
        events={"app_home_opened": on_home_opened},
    )
