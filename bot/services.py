"""The services every listener uses, built once by `bot.app`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.profile import KibanaProfile
from bot.refusal_bound import RefusalBound
from bot.settings import Settings
from bot.slack_identity import BotUser

if TYPE_CHECKING:
    from bot.access import AccessControl
    from bot.kibana.client import KibanaClient
    from bot.people import PersonLinks
    from bot.store import Store


@dataclass
class Services:
    settings: Settings
    kibana: KibanaClient
    store: Store
    access: AccessControl
    slack: AsyncWebClient
    replica: str = "replica"
    profile: KibanaProfile = field(default_factory=KibanaProfile)  # the Kibana's version, licence, capabilities
    inflight: set[asyncio.Task[object]] = field(default_factory=set)
    bot_user: BotUser = field(default_factory=BotUser)  # who the bot is in Slack (auth.test)
    refusals: RefusalBound = field(default_factory=RefusalBound)  # which refusals are audited one by one
    people: PersonLinks | None = None  # people's own Kibana keys; set when KIBANA_IDENTITY=person

    def track_current_task(self) -> None:
        """Mark the running listener as in flight, so shutdown waits for it."""
        task = asyncio.current_task()
        if task is not None and task not in self.inflight:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    def space(self, space: str | None) -> str:
        """The space a request acts in: the one named, else KIBANA_SPACE."""
        return space or self.settings.kibana_space
