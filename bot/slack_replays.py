"""Replayed Slack requests: acknowledged like any other, acted on only once the store says the
signature is new.

A signed request sent again byte for byte within Slack's 5-minute window verifies; the store
remembers every signature (`Store.seen_slack_request`, shared by the replicas) so that the copy
does nothing. Recording a signature is a write, and waiting for it before the ack put a
transaction in front of every acknowledgement: the `ack` benchmark's median was 0.05 s with the
check before the ack, against 0.013 s for a bare Bolt app. So the check starts as the request
arrives (`start_check`) and runs beside Bolt's dispatch; each listener is registered through
`checked`, which lets it acknowledge, then waits for the answer before the listener does anything
else. A replay is acknowledged (Slack's client shows nothing) and stops there.

Modal submissions check access, and audit a refusal, before they acknowledge (their errors go in
the ack), so they wait for the answer first: `checked(listener, before_ack=True)`. Socket Mode
requests are not signed and carry no check.

When the store cannot answer (the database is down), the request's verdict is unknown: it is not
treated as new. Reads go ahead; a write asks `ensure_checked` before anything is done, which
raises StoreUnavailable, and the person is told that nothing was done and to try again in a
minute (before this, a request replayed during an outage acted once per copy). The failure is
logged once per cause and minute, not once per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot import metrics
from bot.failure_log import FailureLog
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[Any]])

# True: a replay; False: seen first; None: not known (the store did not answer).
Verdict = asyncio.Future[bool | None]
_verdict: contextvars.ContextVar[Verdict | None] = contextvars.ContextVar("replay_verdict", default=None)
_failures = FailureLog(log)
UNCHECKED = "it could not check that this request is not a replay"


class Replayed(BaseException):
    """The request being handled is a replay. A BaseException, like cancellation, so that no
    `except Exception` in a listener can catch it and carry on acting."""


def start_check(store: Store, signature: str) -> contextvars.Token[Verdict | None]:
    """Record `signature` in the store, in the background; the listeners of this request (tasks
    started from here inherit the context) wait for the answer in `refuse_replay`."""
    verdict = asyncio.ensure_future(_seen(store, signature))
    return _verdict.set(verdict)


def end_check(token: contextvars.Token[Verdict | None]) -> None:
    _verdict.reset(token)


async def _seen(store: Store, signature: str) -> bool | None:
    try:
        seen = await store.seen_slack_request(signature)
    except Exception as error:  # not known: reads go ahead, writes are refused (ensure_checked)
        _failures.failed(
            "replay check",
            "could not check Slack requests for replays (the store failed): their writes are refused until it answers",
            error=error,
        )
        return None
    _failures.recovered("replay check", "the replay check works again; writes are accepted")
    return seen


async def refuse_replay() -> None:
    """Raise Replayed when the request being handled is a replay (waits for the store's answer)."""
    verdict = _verdict.get()
    if verdict is None or not await asyncio.shield(verdict):
        return
    metrics.SLACK_REJECTED.labels("replay").inc()
    log.warning("refused a request to /slack/events: a replay of a request already handled")
    raise Replayed


async def ensure_checked() -> None:
    """Before a write: raise StoreUnavailable when this request could not be checked for a replay
    (the store did not answer), so the write is not made. Requests that carry no check (Socket
    Mode, the bot's own work) pass."""
    verdict = _verdict.get()
    if verdict is not None and await asyncio.shield(verdict) is None:
        metrics.SLACK_REJECTED.labels("replay_unchecked").inc()
        raise StoreUnavailable(UNCHECKED)


class _CheckedAck:
    """Bolt's `ack`, then the replay check: the listener goes on only for a request seen first."""

    def __init__(self, ack: Callable[..., Awaitable[Any]]) -> None:
        self._ack = ack

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        acknowledged = await self._ack(*args, **kwargs)
        await refuse_replay()
        return acknowledged


def checked(listener: Listener, *, before_ack: bool = False) -> Listener:
    """`listener`, doing nothing for a replayed request: its `ack` waits for the replay check once
    Slack has its answer (or, `before_ack`, the check comes before the listener starts).

    Bolt reads the arguments a listener wants from its signature (through functools.wraps), so
    the wrapper asks for what the listener asks for."""

    @functools.wraps(listener)
    async def replay_checked(**kwargs: Any) -> Any:
        ack = kwargs.get("ack")
        if before_ack or ack is None:
            try:
                await refuse_replay()
            except Replayed:
                if ack is not None:
                    await ack()  # Slack is answered all the same (a modal closes); nothing else
                return None
            return await listener(**kwargs)
        try:
            return await listener(**{**kwargs, "ack": _CheckedAck(ack)})
        except Replayed:
            return None

    return replay_checked  # type: ignore[return-value]
