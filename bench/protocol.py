"""The child's side of the JSON-lines protocol (kept free of heavy imports: startup is measured)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def say(obj: dict[str, Any]) -> None:
    """Write one JSON line to stdout (the parent reads it)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def answer_commands(handle: Handler) -> None:
    """Answer each JSON line on stdin with one JSON line, until stdin closes (the parent's stop)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            try:
                answer = await handle(json.loads(line))
            except Exception as error:  # reported to the parent, which raises it there
                answer = {"error": f"{type(error).__name__}: {error}"}
            say(answer)
    finally:
        transport.close()
