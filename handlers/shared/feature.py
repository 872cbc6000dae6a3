"""The one plug contract: what a feature gets (`Plumbing`) and what it gives back (`Contribution`).

Each feature package has one `register(plumbing) -> Contribution`. The composition root
merges the contributions: commands go to the slash-command dispatcher, listeners (Workflow
Builder steps among them) to Bolt, routes to the HTTP server, background jobs and closers to the
runtime, renderers to the outcome reporter. Nothing registers itself at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
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
    steps: Mapping[str, Listener] = field(default_factory=dict)  # Workflow Builder step callback_id → listener
    events: Mapping[str, Listener] = field(default_factory=dict)  # Events API event type → listener
    options: Mapping[str, Listener] = field(default_factory=dict)  # external_select action_id → options listener
    routes: Mapping[str, Endpoint] = field(default_factory=dict)  # HTTP path → POST endpoint
    background: Sequence[Job] = ()  # started once the server runs
    closers: Sequence[Job] = ()  # run at shutdown, in reverse order
    renderers: Sequence[MessageRenderer] = ()  # re-draw this feature's messages after a button acted
    parts: Sequence[Any] = ()  # long-lived objects (a scheduler), reachable through `Runtime.part`

    @classmethod
    def combined(cls, *pieces: Contribution) -> Contribution:
        """One feature's contribution made of several modules' (every kind of entry kept: a table a
        module adds is never dropped by the one that gathers them); ValueError for an id answered twice."""
        merged: dict[str, Any] = {}
        for kind in fields(cls):
            values = [getattr(piece, kind.name) for piece in pieces]
            if values and isinstance(values[0], Mapping):
                table: dict[str, Any] = {}
                for value in values:
                    twice = sorted(set(table) & set(value))
                    if twice:
                        raise ValueError(f"two parts of one feature answer the same {kind.name}: {', '.join(twice)}")
                    table.update(value)
                merged[kind.name] = table
            else:
                merged[kind.name] = tuple(item for value in values for item in value)
        return cls(**merged)


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
