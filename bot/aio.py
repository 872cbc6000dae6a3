"""How the bot's processes run their event loop: on uvloop when it is installed.

uvicorn's `standard` extra brings uvloop and httptools. uvicorn picks httptools by itself
(`http="auto"`), but it only chooses the loop when it creates the loop (`uvicorn.run`); the bot
runs uvicorn's server inside its own loop (with Socket Mode and the scheduler), so it chooses here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop when available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
