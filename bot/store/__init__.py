"""The state store: SQLite (default) or PostgreSQL through SQLAlchemy 2 async.

Everything that must happen exactly once across retries and replicas is guarded by a
unique key here: webhook-driven alert posts, cases opened from Slack, scheduled
health reports, Slack event ids and button double clicks.
"""

from __future__ import annotations

from bot.store.alert_claims import AlertClaim, AlertClaimsMixin, Claimed, HeldClaim
from bot.store.alert_groups import AlertGroup, AlertGroupsMixin, Delivered, GroupSnapshot, Recorded
from bot.store.alert_history import AlertHistoryMixin
from bot.store.alert_publishing import AlertPublishingMixin
from bot.store.alert_subscriptions import AlertPollState, AlertSubscription, AlertSubscriptionsMixin
from bot.store.alerts import AlertContent, AlertsMixin
from bot.store.audit import AuditEntry, AuditMixin, AuditResult
from bot.store.case_form_texts import CaseFormTextsMixin
from bot.store.case_links import CaseLink, CaseLinksMixin
from bot.store.cases import CaseClaim, CaseRecord, CasesMixin
from bot.store.database import make_engine
from bot.store.errors import StoreSchemaError, StoreSchemaMismatch, StoreSchemaTooNew, SubscriptionLimitReached
from bot.store.events import EventsMixin
from bot.store.kibana_links import KibanaLinksMixin, StoredLink
from bot.store.replays import ReplaysMixin
from bot.store.slack_budgets import BucketState, SlackBudgetsMixin
from bot.store.snoozes import KnownSnooze, SnoozesMixin
from bot.store.subscriptions import Subscription, SubscriptionsMixin
from bot.store.timed_mutes import SnoozeToRemind, TimedMute, TimedMutesMixin

__all__ = [
    "AlertClaim",
    "AlertContent",
    "AlertGroup",
    "AlertPollState",
    "AlertSubscription",
    "AuditEntry",
    "AuditResult",
    "BucketState",
    "CaseClaim",
    "CaseLink",
    "CaseRecord",
    "Claimed",
    "Delivered",
    "GroupSnapshot",
    "HeldClaim",
    "KnownSnooze",
    "Recorded",
    "SnoozeToRemind",
    "Store",
    "StoreSchemaError",
    "StoreSchemaMismatch",
    "StoreSchemaTooNew",
    "StoredLink",
    "Subscription",
    "SubscriptionLimitReached",
    "TimedMute",
]


class Store(
    EventsMixin,
    ReplaysMixin,
    AlertGroupsMixin,
    AlertPublishingMixin,
    AlertHistoryMixin,
    AlertsMixin,
    CasesMixin,
    CaseFormTextsMixin,
    CaseLinksMixin,
    SubscriptionsMixin,
    AuditMixin,
    SnoozesMixin,
    AlertSubscriptionsMixin,
    SlackBudgetsMixin,
    KibanaLinksMixin,
    AlertClaimsMixin,
    TimedMutesMixin,
):
    """One per process; every method is one short transaction."""

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to `url` (sqlite+aiosqlite://… or postgresql+psycopg://…) and upgrade its schema.

        Raises StoreSchemaError (StoreSchemaTooNew, StoreSchemaMismatch) for a database it cannot use.
        """
        store = cls(make_engine(url))
        try:
            await store.upgrade_schema()
        except BaseException:
            await store.close()
            raise
        return store
