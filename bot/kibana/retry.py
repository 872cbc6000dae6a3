"""When a failed Kibana call is tried again, and what a transport failure means.

Built on `stamina.retry_context`. Two policies:

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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import stamina

from .errors import KibanaError, KibanaRateLimited, KibanaTimeout, KibanaUnavailable

# The request was never written to the network: safe to send again, whatever it does.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries: total attempts, total seconds, and the backoff."""

    attempts: int = 4
    timeout: float = 20.0
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 1.0
    retry_after_max: float = 10.0

    def attempts_for(self, *, idempotent: bool) -> AsyncIterator[stamina.Attempt]:
        """`async for attempt in policy.attempts_for(...): with attempt: ...`."""
        hook = self.should_retry_hook(idempotent=idempotent, started=time.monotonic())
        return stamina.retry_context(
            on=hook,
            attempts=max(1, self.attempts),
            timeout=self.timeout if self.timeout > 0 else None,
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
    exc: httpx.TransportError,
    *,
    method: str,
    path: str,
    space: str | None,
    timeout: float,
    pool_wait: float | None = None,
) -> KibanaError:
    """A typed error for a failure below HTTP; never carries the request (nor its headers).

    `pool_wait`: how long a call may wait for a free connection (default: `timeout`)."""
    sent = not isinstance(exc, NEVER_SENT)
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, httpx.ConnectTimeout):
            message = f"could not connect to Kibana within {timeout:g} s"
        elif isinstance(exc, httpx.PoolTimeout):
            message = f"no free connection to Kibana within {pool_wait or timeout:g} s"
        else:
            message = f"Kibana did not answer within {timeout:g} s"
        error: KibanaError = KibanaTimeout(message, error=type(exc).__name__, method=method, path=path, space=space)
    else:
        if isinstance(exc, httpx.ConnectError):
            message = f"could not connect to Kibana ({_reason(exc)})"
        elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            message = f"Kibana closed the connection without a complete answer ({_reason(exc)})"
        else:
            message = f"the connection to Kibana failed ({_reason(exc)})"
        error = KibanaUnavailable(message, error=type(exc).__name__, method=method, path=path, space=space)
    assert isinstance(error, KibanaUnavailable)
    error.request_sent = sent
    return error


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return text or type(exc).__name__
