"""Whose Slack call goes next, within one replica, in one rate-limit bucket: people first.

One call of a bucket is on its way at a time (so when Slack answers 429, no other is already sent).
The next one is the first person's call (a call with a bounded wait: an answer to a click, a command),
else the first background call (alert deliveries, a recovery wave's updates), each first come, first
served. The caller at the head waits there for its token; when a person's call arrives meanwhile, a
background caller waiting at the head steps back (keeping its place before the other background calls)
and the person's call goes first.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Ticket:
    __slots__ = ("person",)

    def __init__(self, person: bool) -> None:
        self.person = person


class Turns:
    def __init__(self) -> None:
        self.changed = asyncio.Event()  # set (and replaced) whenever who may go next may have changed
        self._people: deque[Ticket] = deque()
        self._background: deque[Ticket] = deque()
        self.busy = False  # a call of this bucket is on its way to Slack
        self.taking = False  # the caller at the head is asking the ledger for a token

    def notify(self) -> None:
        """Wake every caller waiting on `changed` (each looks again)."""
        self.changed.set()
        self.changed = asyncio.Event()

    def join(self, person: bool) -> Ticket:
        ticket = Ticket(person)
        (self._people if person else self._background).append(ticket)
        return ticket

    def ahead(self, person: bool) -> int:
        """How many calls would go before a call joining now."""
        return len(self._people) + (0 if person else len(self._background)) + int(self.busy)

    def first(self, ticket: Ticket) -> bool:
        """True when `ticket` may go now: nothing is on its way and no one is before it."""
        if self.busy or self.taking:
            return False
        head = self._people[0] if self._people else (self._background[0] if self._background else None)
        return head is ticket

    def start(self, ticket: Ticket) -> None:
        """`ticket`'s call is on its way (it leaves the queue)."""
        self._leave(ticket)
        self.busy = True

    def again(self, ticket: Ticket) -> None:
        """`ticket`'s call was refused (429): it waits again, first of its kind."""
        self.busy = False
        (self._people if ticket.person else self._background).appendleft(ticket)

    def finish(self) -> None:
        self.busy = False

    def leave(self, ticket: Ticket) -> None:
        """`ticket` gives up (its caller would wait too long, or was cancelled)."""
        self._leave(ticket)

    def _leave(self, ticket: Ticket) -> None:
        queue = self._people if ticket.person else self._background
        if ticket in queue:
            queue.remove(ticket)
