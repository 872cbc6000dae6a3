"""How the bot's processes run their event loop: on uvloop when it is installed.

uvicorn's `standard` extra brings uvloop and httptools. uvicorn picks httptools by itself
(`http="auto"`), but it only chooses the loop when it creates the loop (`uvicorn.run`); the bot
runs uvicorn's server inside its own loop (with Socket Mode and the scheduler), so it chooses here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

# Young collections every 7,000 net allocations instead of 700: a burst of hundreds of in-flight
# calls then triggers ten times fewer full collections (the frozen heap makes each one cheap, but
# still proportional to what is in flight).
GC_THRESHOLDS = (7_000, 10, 10)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# glibc's mallopt() parameter for the number of malloc arenas (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most `arenas` malloc arenas in this process (glibc only), unless MALLOC_ARENA_MAX says otherwise.

    glibc gives threads arenas of their own, up to 8 per core, and memory freed in an arena stays
    with it. Every SQLite connection is a thread of aiosqlite's, and SQLite allocates its page
    cache and statements there: the `memory` benchmark's RSS grew 9.5 % over 7,000 requests
    (17.8 % over 18,000) with the default, 3.2 % with two arenas, while the Python heap
    (`sys.getallocatedblocks()`) grew alike in both. Must run before those threads start; the
    MALLOC_ARENA_MAX environment variable, read by glibc itself, is left to win. Returns whether
    the limit was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc (musl, macOS): nothing to set
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:
        log.debug("mallopt(M_ARENA_MAX, %d) was refused", arenas)
        return False
    return True


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop when available, with at most MALLOC_ARENAS malloc arenas."""
    limit_malloc_arenas()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def pause_gc_for_startup() -> None:
    """No garbage collection until `freeze_startup_heap` (which `serve` schedules once it listens).

    Start-up is imports and the app's structures: objects that live until exit, so the dozens of
    collections they trigger find next to nothing, while each walks a heap that keeps growing.
    Importing the bot took 0.60–0.64 s with the collector paused against 0.72–0.76 s without it
    (three runs each, this machine). Only for a process that goes on to freeze its start-up heap."""
    gc.disable()


def freeze_startup_heap() -> None:
    """Take what start-up made (modules, models, SQLAlchemy's and Bolt's structures, the app) out
    of the garbage collector's sight, once the bot is ready to serve.

    Profiling the `ack` benchmark found full (generation 2) collections of 0.2–0.4 s each, a few
    per burst: they walk every object the process holds, most of them made at start-up and alive
    until exit. Each such pause held back every ack behind it; they were most of the ack tail.
    Frozen objects are never collected, so collect once first. Turns the collector back on
    after `pause_gc_for_startup`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()


FREEZE_AFTER_SECONDS = 1.0


def freeze_startup_heap_soon(delay: float = FREEZE_AFTER_SECONDS) -> asyncio.TimerHandle:
    """`freeze_startup_heap` a moment after the server started: its collection (0.1–0.2 s here)
    then does not hold back readiness (`/readyz` answers while it waits)."""
    return asyncio.get_running_loop().call_later(delay, freeze_startup_heap)


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has stopped (nothing when there is none)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
