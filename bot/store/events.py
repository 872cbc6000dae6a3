"""Slack event ids already handled (Slack retries an event it thinks we missed)."""

from __future__ import annotations

from datetime import timedelta

from bot.store.claims import ClaimsMixin

SLACK_EVENT = "slack-event"
# Slack retries for a few minutes; a day is far beyond that, and prune_claims tidies up.
SLACK_EVENT_TTL = timedelta(days=1)


class EventsMixin(ClaimsMixin):
    async def seen_slack_event(self, event_id: str) -> bool:
        """True when the event id was already recorded; records it otherwise."""
        return not await self.claim_key(SLACK_EVENT, event_id, ttl=SLACK_EVENT_TTL)
