"""The one plug contract: what a feature gets (`Plumbing`) and what it gives back (`Contribution`).

Each feature package has one `register(plumbing) -> Contribution`. The composition root
merges the contributions: commands go to the slash-command dispatcher, listeners to
Bolt, routes to the HTTP server, background jobs and closers to the runtime, renderers to the
outcome reporter. Nothing registers itself at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from bot.services import Services
from handlers.shared.catalog import Catalog
from handlers.shared.codec import use_metadata_key
from handlers.shared.context import Invocation
from handlers.shared.guard import Guard
from handlers.shared.outcome import MessageRenderer, Outcomes
from handlers.shared.replies import Replies

Route = Callable[[Invocation], Awaitable[None]]  # one slash command, after the ack and the access check
Listener = Callable[..., Awaitable[None]]  # a Bolt listener (Bolt passes ack, body, … by parameter name)
Endpoint = Callable[[Request], Awaitable[Response]]
Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Contribution:
    commands: Mapping[str, Route] = field(default_factory=dict)  # catalog action name → route
    actions: Mapping[str, Listener] = field(default_factory=dict)  # block action_id → listener
    views: Mapping[str, Listener] = field(default_factory=dict)  # modal callback_id → submission listener
    shortcuts: Mapping[str, Listener] = field(default_factory=dict)  # shortcut callback_id → listener
    events: Mapping[str, Listener] = field(default_factory=dict)  # Events API event type → listener
    routes: Mapping[str, Endpoint] = field(default_factory=dict)  # HTTP path → POST endpoint
    background: Sequence[Job] = ()  # started once the server runs
    closers: Sequence[Job] = ()  # run at shutdown, in reverse order
    renderers: Sequence[MessageRenderer] = ()  # re-draw this feature's messages after a button acted
    parts: Sequence[Any] = ()  # long-lived objects (a scheduler), reachable through `Runtime.part`


@dataclass(frozen=True)
class Plumbing:
    """The shared Slack plumbing every feature is given, with the catalog of every feature's actions."""

    services: Services
    replies: Replies
    outcomes: Outcomes
    guard: Guard
    catalog: Catalog

    @classmethod
    def build(cls, services: Services, session: aiohttp.ClientSession | None, catalog: Catalog) -> Plumbing:
        settings = services.settings
        secret = settings.slack_signing_secret or settings.slack_bot_token
        use_metadata_key(secret.get_secret_value())
        replies = Replies(services.slack, session, services.bot_user)
        outcomes = Outcomes(replies, inflight=services.inflight)
        return cls(services, replies, outcomes, Guard(services, replies, catalog), catalog)
