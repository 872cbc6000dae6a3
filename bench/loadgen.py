"""The load generator: aiohttp in its own process (httpx's client is too slow to be the load).

    python -m bench.loadgen

Prints `{"ready": true}`, then for each `{"cmd": "run", …job}` line on stdin sends the
job's requests and prints one JSON line with the results. A job:

    url          base URL of the server under test
    templates    [{"path", "body", "content_type", "sign": bool, "headers": {…}}], used in turn
    count        how many requests; concurrency: how many in flight at once
    offset       added to the request index for `__N__` (unique ids across jobs)
    response_url_prefix   `__RURL__` becomes quote(prefix + str(offset + i)) (form bodies)
    secret       the Slack signing secret for templates with "sign": true
    timeout      seconds per request

The answer: latencies (seconds, per successful request, in request order), statuses,
errors, first_send / last_done (time.time(), comparable with the parent's clock) and elapsed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.protocol import answer_commands, say
from bot import aio


def slack_signature(secret: str, body: str, timestamp: int) -> dict[str, str]:
    """Slack's v0 request signature (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def request_for(job: dict[str, Any], i: int) -> tuple[str, str, dict[str, str]]:
    """The path, body and headers of request `i` of `job`."""
    templates: list[dict[str, Any]] = job["templates"]
    template = templates[i % len(templates)]
    n = int(job.get("offset", 0)) + i
    body = str(template["body"]).replace("__N__", str(n))
    if "__RURL__" in body:
        body = body.replace("__RURL__", quote(f"{job['response_url_prefix']}{n}", safe=""))
    headers = {"Content-Type": str(template["content_type"]), **template.get("headers", {})}
    if template.get("sign"):
        headers.update(slack_signature(str(job["secret"]), body, int(time.time())))
    return str(template["path"]), body, headers


async def run(job: dict[str, Any]) -> dict[str, Any]:
    count, concurrency = int(job["count"]), int(job["concurrency"])
    base = str(job["url"]).rstrip("/")
    latencies: list[float | None] = [None] * count
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    indexes = iter(range(count))  # shared: each index is sent once, by whichever worker is free
    timeout = aiohttp.ClientTimeout(total=float(job.get("timeout", 30)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for i in indexes:
                path, body, headers = request_for(job, i)
                started = time.perf_counter()
                try:
                    async with session.post(base + path, data=body.encode(), headers=headers) as response:
                        await response.read()
                        statuses[str(response.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    errors[type(error).__name__] += 1
                    continue
                latencies[i] = time.perf_counter() - started

        first_send = time.time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, max(count, 1)))))
        elapsed = time.perf_counter() - started
    return {
        "latencies": [x for x in latencies if x is not None],
        "statuses": dict(statuses),
        "errors": dict(errors),
        "first_send": first_send,
        "last_done": time.time(),
        "elapsed": elapsed,
    }


async def serve() -> None:
    async def handle(command: dict[str, Any]) -> dict[str, Any]:
        if command.get("cmd") != "run":
            raise ValueError(f"unknown command {command.get('cmd')!r}")
        return await run(command)

    say({"ready": True})
    await answer_commands(handle)


if __name__ == "__main__":
    aio.run(serve())
