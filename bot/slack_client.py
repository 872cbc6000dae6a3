"""The bot's Slack Web API client: slack_sdk's AsyncWebClient with every call through the
`SlackLimiter` (bot/slack_limits.py), and without slack_sdk's own retries of 429s."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import metrics
from bot.slack_limits import POST_MESSAGE, SlackLimiter, SlackRateLimited, TooLong, current_max_wait


def channel_of(*arguments: Any) -> str | None:
    """The `channel` argument of a call, wherever slack_sdk put it (JSON body, form or query)."""
    for given in arguments:
        if isinstance(given, Mapping):
            channel = given.get("channel")
            if channel:
                return str(channel)
    return None


def retry_handlers() -> list[Any]:
    """slack_sdk's retries for a dropped connection only: 429s are the limiter's (its default list is
    the same today, `[AsyncConnectionErrorRetryHandler()]`; this keeps it so should that change)."""
    return [AsyncConnectionErrorRetryHandler()]


class LimitedWebClient(AsyncWebClient):
    """slack_sdk's AsyncWebClient whose every call (`api_call`, which every method helper uses) goes
    through a `SlackLimiter`; the calling context may bound the wait (`set_max_wait`)."""

    def __init__(self, *args: Any, limiter: SlackLimiter | None = None, **kwargs: Any):
        kwargs.setdefault("retry_handlers", retry_handlers())
        super().__init__(*args, **kwargs)
        self.retry_handlers = [h for h in self.retry_handlers if not _retries_429(h)]
        self.limiter = limiter or SlackLimiter()

    def sibling(self, *, token: str | None, team_id: str | None = None) -> LimitedWebClient:
        """A copy for one request (as Bolt makes for every request), sharing this client's limiter."""
        return LimitedWebClient(
            token=token,
            base_url=self.base_url,
            timeout=self.timeout,
            ssl=self.ssl,
            proxy=self.proxy,
            session=self.session,
            trust_env_in_session=self.trust_env_in_session,
            headers=dict(self.headers),
            team_id=team_id,
            logger=self.logger,
            retry_handlers=list(self.retry_handlers),
            limiter=self.limiter,
        )

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: Any = None,
    ) -> AsyncSlackResponse:
        channel = channel_of(json, data, params) if api_method == POST_MESSAGE else None
        max_wait = current_max_wait()

        async def send() -> AsyncSlackResponse:
            try:
                return await AsyncWebClient.api_call(
                    self,
                    api_method,
                    http_verb=http_verb,
                    files=files,
                    data=data,
                    params=params,
                    json=json,
                    headers=dict(headers) if headers else None,
                    auth=auth,
                )
            except SlackApiError as error:
                if getattr(error.response, "status_code", None) == 429:
                    refused: AsyncSlackResponse = error.response
                    return refused
                raise

        try:
            response = await self.limiter.call(api_method, channel, send, max_wait)
        except TooLong as too_long:
            metrics.SLACK_API_CALLS.labels(api_method, "waited_too_long").inc()
            raise SlackRateLimited(
                api_method, too_long.retry_in, self._ratelimited(api_method, too_long.retry_in)
            ) from None
        except SlackApiError as error:
            metrics.SLACK_API_CALLS.labels(api_method, _outcome(error.response)).inc()
            raise
        except Exception:
            metrics.SLACK_API_CALLS.labels(api_method, "failed").inc()
            raise
        metrics.SLACK_API_CALLS.labels(api_method, "ok").inc()
        return response

    def _ratelimited(self, method: str, retry_in: float) -> AsyncSlackResponse:
        """A 429 answer as Slack gives it, for a call the limiter did not make."""
        return AsyncSlackResponse(
            client=self,
            http_verb="POST",
            api_url=f"{self.base_url}{method}",
            req_args={},
            data={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(max(1, math.ceil(retry_in)))},
            status_code=429,
        )


def _outcome(response: Any) -> str:
    try:
        return "error" if response.get("error") != "ratelimited" else "ratelimited"
    except Exception:
        return "error"


def _retries_429(handler: Any) -> bool:
    return isinstance(handler, AsyncRateLimitErrorRetryHandler)
