"""Who is acting, where, and the command being run: what every listener passes around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers.shared.errors import Doing, Explain
from handlers.shared.grammar import A, Command
from handlers.shared.replies import Replies, ReplyFailed, Surface


@dataclass(frozen=True)
class Actor:
    """Who acts, in which team, and the one channel they act in (what the access policy reads);
    for a click, shortcut or modal, `handlers.shared.interaction` says which channel that is."""

    user_id: str
    user_name: str = ""
    team_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def from_command(cls, command: dict[str, Any]) -> Actor:
        return cls(
            user_id=command.get("user_id", ""),
            user_name=command.get("user_name", ""),
            team_id=command.get("team_id"),
            channel_id=command.get("channel_id"),
        )

    def in_channel(self, channel_id: str | None) -> Actor:
        """The same person, acting in `channel_id` (where a modal was opened from, say)."""
        return Actor(self.user_id, self.user_name, self.team_id, channel_id)

    @property
    def mention(self) -> str:
        return f"<@{self.user_id}>"


@dataclass
class Invocation:
    """One `/kibana …` command being handled (after the ack)."""

    services: Services
    replies: Replies
    command: Command
    actor: Actor
    respond: AsyncRespond
    client: AsyncWebClient
    response_url: str | None = None
    trigger_id: str | None = None

    def args(self, kind: type[A]) -> A:
        """The command's arguments, typed as the route expects."""
        return self.command.args_as(kind)

    @property
    def space(self) -> str:
        return self.services.space(self.command.space)

    @property
    def slash(self) -> str:
        return self.services.settings.slack_command

    @property
    def surface(self) -> Surface:
        return Surface(user=self.actor.user_id, channel=self.actor.channel_id, response_url=self.response_url)

    def doing(self, explain: Explain) -> Doing:
        """For the wording of errors; `explain`: the features' sentences (the catalog's)."""
        return Doing(
            explain=explain,
            action=self.command.action,
            space=self.space,
            rule_id=self.command.rule_id,
            alert_id=self.command.alert_id,
            command=self.slash,
            kibana_version=self.services.profile.current.info.version,
        )

    async def reply(
        self,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        public: bool = False,
        replace: bool = False,
        secret: bool = False,
    ) -> None:
        if self.response_url is not None and not self.replies.follows(self.response_url):
            # Not Slack's host: never followed. The Web API is the way left.
            channel = self.actor.channel_id
            if channel is None or secret:  # a secret never goes through the Web API client's logging
                raise ReplyFailed("the response_url is not on Slack's host")
            if public:
                await self.replies.post(channel, text, blocks=blocks)
            else:
                await self.replies.ephemeral(channel, self.actor.user_id, text, blocks=blocks)
            return
        if self.response_url is None:  # Bolt's respond() knows no other way either; let it say so
            await self.respond(
                text=text,
                blocks=blocks,
                response_type="in_channel" if public else "ephemeral",
                replace_original=replace,
            )
            return
        await self.replies.to_response_url(
            self.response_url, text, blocks=blocks, public=public, replace=replace, secret=secret
        )
