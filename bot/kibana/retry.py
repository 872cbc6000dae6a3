"""When a failed Kibana call is tried again, and what a transport failure means.

Built on `stamina.retry_context`, entered only once a first attempt has failed in a way that may
be retried: setting up stamina's context costs about 100 µs of CPU, as much as aiohttp's whole
exchange (bench `kibana`), and nearly every call succeeds at once. The failure is handed to stamina
as its first attempt, so the backoff, the attempts and the deadline are stamina's as before.

Two policies:

* idempotent calls (GET, mute/unmute, mute_all/unmute_all, disable/enable, agent
  configuration with overwrite) retry on anything that says "Kibana is unavailable":
  connect errors, timeouts, dropped connections, 502/503/504, and on 429 after the
  `Retry-After` Kibana asked for (capped, and only while the retry budget lasts);
* every other call retries only when the request provably never left this process
  (connection refused, connect timeout, no pooled connection free) — never once it may
  have reached Kibana, so a case is not created twice.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from .errors import KibanaError, KibanaRateLimited, KibanaTimeout, KibanaUnavailable
from .transport import TransportFailure

if TYPE_CHECKING:
    import stamina

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries: total attempts, total seconds, and the backoff. A client is given one
    (`KibanaClient(retry=…)`); `DEFAULT_RETRY` serves the bot."""

    attempts: int = 4
    timeout: float = 20.0
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 1.0
    retry_after_max: float = 10.0

    async def run(self, attempt: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """`attempt()`, tried again as this policy allows; the last error is raised."""
        started = time.monotonic()
        try:
            return await attempt()
        except KibanaError as exc:
            hook = self.should_retry_hook(idempotent=idempotent, started=started)
            if self.attempts <= 1 or hook(exc) is False:
                raise
            first: KibanaError | None = exc
        # The first failure is stamina's first attempt: it waits and tries again as it would have.
        async for retry in self.attempts_for(idempotent=idempotent, started=started):
            with retry:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await attempt()
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def attempts_for(self, *, idempotent: bool, started: float | None = None) -> AsyncIterator[stamina.Attempt]:
        """`async for attempt in policy.attempts_for(...): with attempt: ...`; `started` (monotonic)
        when the first attempt began, if before now."""
        import stamina  # with tenacity ~8 ms of start-up, and only a failed call needs it

        started = time.monotonic() if started is None else started
        hook = self.should_retry_hook(idempotent=idempotent, started=started)
        remaining = self.timeout - (time.monotonic() - started)
        return stamina.retry_context(
            on=hook,
            attempts=max(1, self.attempts),
            timeout=max(remaining, 0.001) if self.timeout > 0 else None,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        ).__aiter__()

    def should_retry_hook(self, *, idempotent: bool, started: float) -> Callable[[Exception], bool | float]:
        """The stamina backoff hook: False (give up), True (usual backoff) or seconds to wait."""

        def hook(exc: Exception) -> bool | float:
            if isinstance(exc, KibanaUnavailable) and not exc.request_sent:
                return True
            if not idempotent:
                return False
            if isinstance(exc, KibanaRateLimited):
                if exc.retry_after is None:
                    return True
                wait = min(max(exc.retry_after, 0.0), self.retry_after_max)
                remaining = self.timeout - (time.monotonic() - started)
                return float(wait) if wait <= remaining else False
            return isinstance(exc, KibanaUnavailable)

        return hook


DEFAULT_RETRY = RetryPolicy()


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_transport(
    exc: TransportFailure,
    *,
    method: str,
    path: str,
    space: str | None,
    timeout: float,
    pool_wait: float | None = None,
) -> KibanaError:
    """A typed error for a failure below HTTP; never carries the request (nor its headers).

    `pool_wait`: how long a call may wait for a free connection (default: `timeout`)."""
    if exc.timed_out:
        if exc.kind == "ConnectTimeout":
            message = f"could not connect to Kibana within {timeout:g} s"
        elif exc.kind == "PoolTimeout":
            message = f"no free connection to Kibana within {pool_wait or timeout:g} s"
        else:
            message = f"Kibana did not answer within {timeout:g} s"
        error: KibanaError = KibanaTimeout(message, error=exc.kind, method=method, path=path, space=space)
    else:
        if exc.kind == "ConnectError":
            message = f"could not connect to Kibana ({exc.reason})"
        elif exc.kind in {"RemoteProtocolError", "ReadError"}:
            message = f"Kibana closed the connection without a complete answer ({exc.reason})"
        else:
            message = f"the connection to Kibana failed ({exc.reason})"
        error = KibanaUnavailable(message, error=exc.kind, method=method, path=path, space=space)
    assert isinstance(error, KibanaUnavailable)
    error.request_sent = exc.sent
    return error
