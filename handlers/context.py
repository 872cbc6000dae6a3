"""Who is acting, where, and the command being run: what every listener passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers.errors import Doing
from handlers.grammar import Command


@dataclass(frozen=True)
class Actor:
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

    @classmethod
    def from_interaction(cls, body: dict[str, Any]) -> Actor:
        user = body.get("user") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        team = (body.get("team") or {}).get("id") or user.get("team_id")
        return cls(
            user_id=user.get("id", ""),
            user_name=user.get("username") or user.get("name") or "",
            team_id=team,
            channel_id=channel,
        )

    @property
    def mention(self) -> str:
        return f"<@{self.user_id}>"


@dataclass
class Invocation:
    """One `/kibana …` command being handled (after the ack)."""

    services: Services
    command: Command
    actor: Actor
    respond: AsyncRespond
    client: AsyncWebClient
    body: dict[str, Any]
    trigger_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> str:
        return self.services.space(self.command.space)

    @property
    def slash(self) -> str:
        return self.services.settings.slack_command

    def doing(self) -> Doing:
        args = self.command.args
        rule_id = args.get("rule_id")
        alert_id = args.get("alert_id")
        return Doing(
            action=self.command.action,
            space=self.space,
            rule_id=rule_id if isinstance(rule_id, str) else None,
            alert_id=alert_id if isinstance(alert_id, str) else None,
            command=self.slash,
        )

    async def reply(
        self,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        public: bool = False,
        replace: bool = False,
    ) -> None:
        response_url = self.body.get("response_url")
        if not response_url:  # Bolt's respond() knows no other way either; let it say so
            await self.respond(
                text=text,
                blocks=blocks,
                response_type="in_channel" if public else "ephemeral",
                replace_original=replace,
            )
            return
        await self.services.webhook(response_url).send(
            text=text,
            blocks=blocks,
            response_type="in_channel" if public else "ephemeral",
            replace_original=replace,
        )
