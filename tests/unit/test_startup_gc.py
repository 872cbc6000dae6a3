"""`serve` pauses the garbage collector for start-up and turns it back on when it freezes the
start-up heap: a process that paused it must not run without a collector afterwards."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio, gc
from bot import aio

aio.pause_gc_for_startup()
paused = not gc.isenabled()

async def main():
    aio.freeze_startup_heap_soon(0.01)
    await asyncio.sleep(0.2)

aio.run(main())
print(paused, gc.isenabled(), gc.get_threshold()[0] == aio.GC_THRESHOLDS[0], gc.get_freeze_count() > 0)
"""


def test_the_collector_is_paused_for_start_up_and_back_once_the_heap_is_frozen() -> None:
    # Its own process: freezing the heap of the test runner would change every test after it.
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "True", "True", "True"]
