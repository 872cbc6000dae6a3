"""For whom a Kibana call is made: the bot (its own credential) or a person (their own API key).

With KIBANA_IDENTITY=person, the handlers run each person's request inside `acting_for(...)`; every
Kibana call made in it (by whichever feature, through whichever listener) carries that person's key
(`KibanaConnection.call`). A request for a person with no usable key raises `KibanaNotLinked` before
anything is sent: there is no fallback to the bot's credential. Outside it (the alert intake, the
alerts-as-data poller, scheduled reports, version and licence reads, `check`) calls carry the bot's.
`as_bot()` says so explicitly for bot work started from inside a person's request.

The answers Kibana gives a person's key are told apart: a 401 is `PersonKeyRejected` (the person's
key is expired or revoked, not the bot's), a 403 is `PersonForbidden`, naming the feature privilege
the call needs (`privileges.needed`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from bot.credentials import PersonKey

from .errors import KibanaError, KibanaForbidden, KibanaUnauthorized
from .privileges import Privilege

log = logging.getLogger(__name__)

OnRejected = Callable[[PersonKey], Awaitable[None]]


@dataclass(frozen=True)
class Acting:
    """A person's request: their Slack id, their key (None: they have no usable link), and what to do
    when Kibana answers 401 to the key (mark the link stale)."""

    user_id: str
    key: PersonKey | None
    on_rejected: OnRejected | None = None

    async def rejected(self) -> None:
        if self.key is None or self.on_rejected is None:
            return
        try:
            await self.on_rejected(self.key)
        except Exception:
            log.exception("could not mark a rejected Kibana key's link stale")


_acting: contextvars.ContextVar[Acting | None] = contextvars.ContextVar("kibana_acting_for", default=None)


def acting() -> Acting | None:
    """The person the current task acts for, or None: the bot's own work."""
    return _acting.get()


def kibana_identity() -> str | None:
    """Who Kibana sees for the current task's calls, for the audit trail: the person's Kibana user
    (or their key, by its id), or None for the bot's own credential."""
    person = _acting.get()
    return person.key.identity if person is not None and person.key is not None else None


@contextlib.contextmanager
def acting_for(user_id: str, key: PersonKey | None, on_rejected: OnRejected | None = None) -> Iterator[None]:
    token = _acting.set(Acting(user_id, key, on_rejected))
    try:
        yield
    finally:
        _acting.reset(token)


@contextlib.contextmanager
def as_bot() -> Iterator[None]:
    """The bot's own work, even when started from a person's request."""
    token = _acting.set(None)
    try:
        yield
    finally:
        _acting.reset(token)


class KibanaNotLinked(KibanaError):
    """A person's request, and the person has no usable Kibana key linked: nothing was sent."""

    def __init__(self, user_id: str) -> None:
        super().__init__("no Kibana API key is linked for this person; nothing was sent to Kibana")
        self.user_id = user_id


class PersonKeyRejected(KibanaUnauthorized):
    """401 to a person's own key: it expired or was revoked (the bot's credential is not concerned)."""

    def __init__(self, key: PersonKey, cause: KibanaUnauthorized) -> None:
        super().__init__(cause.message, error=cause.error, method=cause.method, path=cause.path, space=cause.space)
        self.key = key


class PersonForbidden(KibanaForbidden):
    """403 to a person's own key: their Kibana role lacks `needs` in `space`."""

    def __init__(self, key: PersonKey, needs: Privilege, cause: KibanaForbidden) -> None:
        super().__init__(
            cause.message,
            error=cause.error,
            method=cause.method,
            path=cause.path,
            space=cause.space,
            attributes=cause.attributes,
        )
        self.key = key
        self.needs = needs
