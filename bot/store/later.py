"""Writes kept for later: what happened while the database did not answer, written once it does.

When the database fails after a write was made in Kibana (the rule is snoozed, Kibana answered),
its audit entry and the bot's record of the snooze schedule are not dropped: they wait here, in
memory, in order, at most `WAITING_LIMIT` of them, and a retry task writes them once the database
answers again (every `RETRY_SECONDS`, and at once before the next audit entry is written). A
process stopped before then cannot keep them: it writes them if it can as it closes, and
otherwise logs what was lost. A write that would find the queue full is refused before it is made
(`may_keep`), so nothing the bot did goes unrecorded without a log line saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import islice

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.failure_log import FailureLog
from bot.store.database import Database
from bot.store.errors import StoreUnavailable, store_unreachable

log = logging.getLogger(__name__)

WAITING_LIMIT = 10_000
RETRY_SECONDS = 5.0
CLOSING_SECONDS = 5.0
_BATCH = 500

Write = Callable[[AsyncConnection], Awaitable[object]]


@dataclass(frozen=True)
class _Waiting:
    what: str  # "audit entry", "snooze schedule record" …: for the log
    write: Write
    on_written: Callable[[], None] | None = None


class LaterMixin(Database):
    _waiting: deque[_Waiting]
    _retrying: asyncio.Task[None] | None
    _later_turn: asyncio.Lock
    _later_log: FailureLog

    def _later(self) -> deque[_Waiting]:
        if "_waiting" not in self.__dict__:
            self._waiting = deque()
            self._retrying = None
            self._later_turn = asyncio.Lock()
            self._later_log = FailureLog(log)
        return self._waiting

    @property
    def waiting_writes(self) -> int:
        """How many writes wait for the database to answer again."""
        return len(self._later())

    def may_keep(self) -> bool:
        """False once the queue is full: a new write could not be recorded, so it must not be made."""
        return len(self._later()) < WAITING_LIMIT

    def _keep(self, what: str, write: Write, on_written: Callable[[], None] | None = None) -> None:
        """Keep `write` for when the database answers again; StoreUnavailable when the queue is full."""
        waiting = self._later()
        if len(waiting) >= WAITING_LIMIT:
            self._later_log.failed(
                "queue full",
                "the database is not answering and %d writes already wait for it: a %s is lost",
                len(waiting),
                what,
            )
            raise StoreUnavailable(f"{len(waiting)} writes already wait for it")
        waiting.append(_Waiting(what, write, on_written))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry(), name="store-writes-kept-for-later")

    async def write_what_waits(self) -> int:
        """Write what waits, oldest first; how many were written. Raises when the database still does
        not answer (what is left keeps waiting)."""
        waiting = self._later()
        written = 0
        async with self._later_turn:
            while waiting:
                batch = list(islice(waiting, _BATCH))
                try:
                    async with self._write() as conn:
                        for one in batch:
                            await one.write(conn)
                except Exception as error:
                    if store_unreachable(error):
                        raise
                    await self._write_one_by_one(batch)  # one the database refuses must not block the rest
                for one in batch:
                    waiting.popleft()
                    if one.on_written is not None:
                        one.on_written()
                written += len(batch)
        return written

    async def _write_one_by_one(self, batch: list[_Waiting]) -> None:
        for one in batch:
            try:
                async with self._write() as conn:
                    await one.write(conn)
            except Exception as error:
                if store_unreachable(error):
                    raise
                log.error("a %s kept while the database did not answer was refused by it: %r", one.what, error)

    async def _retry(self) -> None:
        while self._later():
            await asyncio.sleep(RETRY_SECONDS)
            try:
                written = await self.write_what_waits()
            except Exception as error:
                self._later_log.failed(
                    "retry",
                    "the database still does not answer; %d writes wait for it",
                    len(self._later()),
                    error=error,
                    level=logging.WARNING,
                )
                continue
            if written:
                self._later_log.recovered("retry", "the database answers again: wrote %d kept writes", written)

    async def _write_waiting_first(self) -> None:
        """Before a new write: what waits goes first (quietly left waiting if the database still fails)."""
        if self.__dict__.get("_waiting"):
            try:
                written = await self.write_what_waits()
            except Exception:
                return
            if written:
                self._later_log.recovered("retry", "the database answers again: wrote %d kept writes", written)

    async def close(self) -> None:
        waiting = self.__dict__.get("_waiting")
        retrying = self.__dict__.get("_retrying")
        if retrying is not None:
            retrying.cancel()
            await asyncio.gather(retrying, return_exceptions=True)
        if waiting:
            try:
                await asyncio.wait_for(self.write_what_waits(), CLOSING_SECONDS)
            except Exception as error:
                kinds: dict[str, int] = {}
                for one in waiting:
                    kinds[one.what] = kinds.get(one.what, 0) + 1
                lost = ", ".join(f"{n} {what}(s)" for what, n in kinds.items())
                log.error("stopping with writes the database never took (it did not answer: %r): lost %s", error, lost)
        await super().close()
