"""The parent's side of a benchmark child process: JSON lines over its stdin/stdout.

A child (see bench/servers.py and bench/loadgen.py) prints one JSON line when it is
ready, then answers each JSON line written to its stdin with one JSON line; closing
its stdin asks it to stop. Its stderr goes to a log file under bench/results/logs/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "bench" / "results" / "logs"
READY_TIMEOUT = 60.0
ANSWER_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
LINE_LIMIT = 64 * 1024 * 1024  # a loadgen answer carries every latency


class ChildError(RuntimeError):
    """A child process failed; the message carries the end of its log."""


class Child:
    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path, started: float) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.started = started  # time.perf_counter() just before the process was spawned
        self.ready: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 - every wait is bounded
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            raise ChildError(f"{self.name}: no answer within {timeout:.0f} s\n{self.log_tail()}") from None
        if not line:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            raise ChildError(f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ChildError(f"{self.name}: {answer['error']}\n{self.log_tail()}")
        return answer

    async def ask(self, command: dict[str, Any], timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:  # noqa: ASYNC109
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        return await self._read(timeout)

    def rss_kib(self) -> int:
        """The child's resident set size (VmRSS, KiB), read from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ChildError(f"{self.name}: no VmRSS in /proc/{self.pid}/status")

    def cpu_seconds(self) -> float:
        """CPU time the child has used so far (user + system, all its threads), read from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self) -> None:
        """Close stdin (the child shuts down cleanly); kill it if it does not exit in time."""
        if self.process.returncode is not None:
            return
        if self.process.stdin is not None:
            with contextlib.suppress(ConnectionError):
                self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def spawn(name: str, module: str, *args: str, ready_timeout: float = READY_TIMEOUT) -> Child:
    """Start `python -m module args…` and wait for its ready line."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as stderr:
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env=env,
            limit=LINE_LIMIT,
        )
    child = Child(name, process, log, started)
    try:
        child.ready = await child._read(ready_timeout)
    except BaseException:
        await child.stop()
        raise
    return child


@contextlib.asynccontextmanager
async def running(name: str, module: str, *args: str) -> AsyncIterator[Child]:
    child = await spawn(name, module, *args)
    try:
        yield child
    finally:
        await child.stop()
