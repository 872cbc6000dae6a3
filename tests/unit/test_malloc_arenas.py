"""The bot's processes keep to two malloc arenas (glibc), unless MALLOC_ARENA_MAX says otherwise.

Each probe is a fresh interpreter whose threads allocate and free; glibc's `malloc_stats()` then
prints one `Arena N:` section per arena on stderr. Without the limit, eight threads get arenas
of their own; with it, they share.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's"
)

PROBE = """
import ctypes, sys, threading
from bot import aio
limited = aio.limit_malloc_arenas() if sys.argv[1] == "limit" else None
barrier = threading.Barrier(8)
def churn():
    barrier.wait()  # all eight threads allocate at once, so none can reuse another's arena
    for _ in range(200):
        blocks = [bytearray(4096) for _ in range(64)]
        del blocks
threads = [threading.Thread(target=churn) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(limited)
sys.stdout.flush()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=environ,
    )
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_threads_share_two_arenas_once_limited() -> None:
    said, count = arenas("limit")
    assert said == "True"
    assert 1 <= count <= 2


def test_without_the_limit_threads_get_arenas_of_their_own() -> None:
    said, count = arenas("plain")
    assert said == "None"
    assert count > 2  # what the limit is for: this machine's glibc makes more


def test_the_environment_variable_wins() -> None:
    said, count = arenas("limit", MALLOC_ARENA_MAX="3")
    assert said == "False"
    assert 1 <= count <= 3
