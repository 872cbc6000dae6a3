"""The tables of the state store (SQLAlchemy 2 Core), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import (
    false as sa_false,
)

metadata = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY columns, PostgreSQL copes with either.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored
    as naive UTC (which also keeps its text form sortable) and made aware on the way out.
    Naive datetimes are refused: they are always a bug here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Generic exactly-once keys: webhook deliveries, Slack event ids, button double clicks.
claim_keys = Table(
    "claim_keys",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("owner", String(255), nullable=False, default=""),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
)

# Where the Slack message of an alert lives. `ts` is NULL while the post is in flight.
alert_messages = Table(
    "alert_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("space", String(255), nullable=False),
    Column("rule_id", String(255), nullable=False),
    Column("alert_id", String(512), nullable=False),
    Column("alert_uuid", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("ts", String(64), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime, nullable=True),
    Column("recovered_at", UtcDateTime, nullable=True),
    # The group (a rule's episode in a channel) the alert is counted in, and what it shows there.
    # NULL group: a row of a release before grouping.
    Column("group_id", Id, nullable=True),
    Column("action_group", String(255), nullable=True),
    Column("reason", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),  # when Kibana first reported it (the delivery's date)
    Column("recovery_reason", Text, nullable=True),
    Column("muted", Boolean, nullable=False, default=False, server_default=sa_false()),
    Column("seq", Integer, nullable=True),  # the group's version when the alert joined it
    Column("changed_seq", Integer, nullable=True),  # … when its action group or reason last changed
    Column("recovered_seq", Integer, nullable=True),  # … and when it recovered
    Column("facts", Text, nullable=True),  # what else the alert carries, as JSON (value, flapping, cases…)
    # one row per alert and channel it is shown in (alert subscriptions of two channels may match it)
    UniqueConstraint("space", "rule_id", "alert_id", "alert_uuid", "channel", name="uq_alert_messages_alert_channel"),
    Index("ix_alert_messages_alert", "space", "rule_id", "alert_id", "alert_uuid"),
    Index("ix_alert_messages_uuid", "alert_uuid"),  # a shared alert link names only Kibana's uuid (unfurls)
    Index("ix_alert_messages_group", "group_id", "id"),
    sqlite_autoincrement=True,
)

# One top-level Slack message per rule, space and channel while the rule's alerts fire there: an
# episode. `version` counts changes (an alert joined, changed or recovered, a button acted);
# `shown_version` is the version Slack shows. The publisher posts or updates a group whose
# shown_version < version once `due_at` has come (the debounce), under a lease so one replica
# does it; an episode whose alerts have all recovered closes (closed_at), the next alert opens one.
_OPEN_GROUP = text("closed_at IS NULL")

alert_groups = Table(
    "alert_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("space", String(255), nullable=False),
    Column("rule_id", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("rule_name", String(1000), nullable=False, default=""),
    Column("tags", Text, nullable=False, default="[]"),
    Column("rule_muted_all", Boolean, nullable=False, default=False),
    Column("rule_enabled", Boolean, nullable=False, default=True),
    Column("ts", String(64), nullable=True),  # NULL until posted
    Column("message_channel", String(64), nullable=True),  # the channel id Slack posted it in
    Column("started_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("shown_version", Integer, nullable=False, default=0),
    Column("logged_version", Integer, nullable=False, default=0),  # changes up to here are in the thread log
    Column("due_at", UtcDateTime, nullable=False),
    Column("shown_at", UtcDateTime, nullable=True),  # when Slack last took the message (the debounce)
    Column("lease_owner", String(255), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("failure", Text, nullable=True),  # Slack's error for the last attempt, until one succeeds
    Column("failures", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    # Slack refused `channel` for good (its error, and when): the group is shown in ALERT_CHANNEL instead, or
    # nowhere (closed unshown); see bot/store/alert_publishing.py
    Column("refused", String(64), nullable=True),
    Column("refused_at", UtcDateTime, nullable=True),
    # a post of the message was started and Slack's ts not yet recorded: it may be in Slack already
    Column("post_started_at", UtcDateTime, nullable=True),
    # at most one open episode per rule, space and channel (PostgreSQL's form: postgresql_forms())
    Index("uq_alert_groups_open", "space", "rule_id", "channel", unique=True, sqlite_where=_OPEN_GROUP),
    Index("ix_alert_groups_message", "message_channel", "ts"),
    Index("ix_alert_groups_due", "due_at"),
    sqlite_autoincrement=True,
)

# Who is on an episode ("I'm on it"): at most one person per alert group (one row, keyed by the group),
# so a claim holds exactly once across replicas; a new episode is a new group, unclaimed. `taken_from`:
# whom it was taken over from; `kibana_ack`: the JSON list of Security alert ids acknowledged in Kibana.
alert_claims = Table(
    "alert_claims",
    metadata,
    Column("group_id", Id, primary_key=True, autoincrement=False),
    Column("user_id", String(64), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("taken_from", String(64), nullable=True),
    Column("kibana_ack", Text, nullable=True),
)

# What an alert message shows (the handler's JSON) and the status lines added by buttons,
# keyed by the message itself so that a button click can re-render it.
alert_message_content = Table(
    "alert_message_content",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("ts", String(64), primary_key=True),
    Column("content", Text, nullable=False),
    Column("status_lines", Text, nullable=False, default="[]"),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Cases opened from Slack, keyed by their de-duplication key.
cases = Table(
    "cases",
    metadata,
    Column("dedupe_key", String(255), primary_key=True),
    Column("space", String(255), nullable=False),
    Column("channel", String(64), nullable=True),
    Column("message_ts", String(64), nullable=True),
    Column("case_id", String(255), nullable=True),
    Column("case_url", Text, nullable=True),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_cases_message", "channel", "message_ts"),
)

# The whole text of the message an open case form was opened on, when the form's field (at most
# 3,000 characters) shows only its beginning: the submission adds it to the case as a comment.
case_form_texts = Table(
    "case_form_texts",
    metadata,
    Column("view_id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("kept_at", UtcDateTime, nullable=False),
    Index("ix_case_form_texts_kept_at", "kept_at"),
)

# Health-report subscriptions. `config_key` is set for the ones declared in settings.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("space", String(255), nullable=False),
    Column("schedule", String(255), nullable=False),
    Column("cron", String(255), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("on_change", Boolean, nullable=False, default=False),
    Column("created_by", String(255), nullable=False),
    Column("config_key", String(64), nullable=True, unique=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("paused_reason", Text, nullable=True),
    Column("last_health", Text, nullable=True),
    Column("last_health_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_subscriptions_channel", "channel"),
    sqlite_autoincrement=True,
)

# One row per (subscription, fire time): the replica that won the right to post it.
subscription_runs = Table(
    "subscription_runs",
    metadata,
    Column("subscription_id", Id, primary_key=True),
    Column("fire_time", UtcDateTime, primary_key=True),
    Column("replica", String(255), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
)

# Counters that change whenever a family of rows changes (replicas poll them cheaply).
versions = Table(
    "versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

# Signatures of recent signed Slack requests: a request replayed byte for byte within Slack's
# 5-minute window is answered without acting, on whichever replica it reaches.
slack_replays = Table(
    "slack_replays",
    metadata,
    Column("signature", String(128), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index("ix_slack_replays_seen_at", "seen_at"),
)

# Slack's rate-limit budgets, shared by the replicas of one workspace (PostgreSQL only: a SQLite or
# in-memory bot is one replica and keeps its buckets in the process). One token bucket per key (a
# method; a method and channel for chat.postMessage): `tokens` as of `updated` (the database's
# clock), and `closed_until`, the Retry-After a replica was given (bot/slack_ledger.py).
slack_budgets = Table(
    "slack_budgets",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
    Column("closed_until", UtcDateTime, nullable=True),
)

# Who did what.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("user_name", String(255), nullable=False),
    Column("team", String(64), nullable=False),
    Column("channel", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(512), nullable=False),
    Column("rule_id", String(255), nullable=True),
    Column("space", String(255), nullable=False),
    Column("result", String(16), nullable=False),
    Column("kibana_status", Integer, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("kibana_identity", String(255), nullable=True),  # the person's Kibana user/key; None: the bot's
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_rule", "rule_id", "at"),
    sqlite_autoincrement=True,
)

# Snooze schedules the bot created: Kibana's public rule API does not show them (behaviours.md §5.3),
# so `unsnooze` and "snoozed until" rely on what the bot remembers.
snooze_schedules = Table(
    "snooze_schedules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("space", String(255), nullable=False),
    Column("rule_id", String(255), nullable=False),
    Column("schedule_id", String(255), nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Where to remind whoever snoozed before it ends (MUTE_END_REMINDER), and whether that was done.
    Column("channel", String(64), nullable=True),
    Column("thread_ts", String(64), nullable=True),
    Column("remind_at", UtcDateTime, nullable=True),
    Column("reminded_at", UtcDateTime, nullable=True),
    UniqueConstraint("space", "rule_id", "schedule_id", name="uq_snooze_schedules_schedule"),
    sqlite_autoincrement=True,
)

# Mutes with an end (`mute … for 1h`, `mute-all … until 09:00`). `how` is "bot" where the bot unmutes
# at `ends_at` itself (Kibanas before 9.5) and "kibana" where Kibana's alert snooze ends it (9.5+;
# `ends_at` NULL: until it gets worse). `alert_id` NULL: all alerts of the rule. A replica claims the
# end (`ended_at`, `ended_by`) and the reminder (`reminded_at`) with a conditional update, so each
# happens once; a person unmuting deletes the row.
timed_mutes = Table(
    "timed_mutes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("space", String(255), nullable=False),
    Column("rule_id", String(255), nullable=False),
    Column("alert_id", String(512), nullable=True),
    Column("how", String(16), nullable=False),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("remind_at", UtcDateTime, nullable=True),
    Column("reminded_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_by", String(255), nullable=True),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("channel", String(64), nullable=True),
    Column("thread_ts", String(64), nullable=True),
    Index("ix_timed_mutes_ends_at", "ends_at"),
    Index("ix_timed_mutes_rule", "space", "rule_id"),
    sqlite_autoincrement=True,
)

# Alert subscriptions: a channel gets the alerts of one space read from Kibana's alerts-as-data,
# of one rule (`kind` rule, `value` its id), one tag (`kind` tag) or all (`kind` all, `value` "").
# `config_key` is set for the one declared in settings (ALERTS_SUBSCRIPTION_CHANNEL).
alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("space", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(255), nullable=False, default=""),
    Column("created_by", String(255), nullable=False),
    Column("config_key", String(64), nullable=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "space", "kind", "value", name="uq_alert_subscriptions_filter"),
    Index("ix_alert_subscriptions_space", "space"),
    sqlite_autoincrement=True,
)

# Per space: where polling `.alerts-*` has got to (the sort values of the last alert document
# read), and the Elasticsearch problem the subscribed channels were last told about.
alert_poll_spaces = Table(
    "alert_poll_spaces",
    metadata,
    Column("space", String(255), primary_key=True),
    Column("cursor_ms", BigInteger, nullable=True),
    Column("cursor_uuid", String(255), nullable=True),
    Column("problem", String(32), nullable=True),
    Column("problem_text", Text, nullable=True),
    Column("problem_since", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)


# People's own Kibana API keys (KIBANA_IDENTITY=person), one per Slack workspace, person and Kibana
# deployment (today only "default"). `api_key` is Fernet ciphertext (CREDENTIALS_KEY); `key_id` is
# the key's id (not a secret), `kibana_user` its owner when Kibana or Elasticsearch said; `stale`:
# Kibana answered 401 to the key since it was linked.
kibana_links = Table(
    "kibana_links",
    metadata,
    Column("team_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("deployment", String(64), primary_key=True),
    Column("api_key", Text, nullable=False),
    Column("key_id", String(128), nullable=False),
    Column("kibana_user", String(255), nullable=True),
    Column("stale", Boolean, nullable=False, default=False, server_default=sa_false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


def postgresql_forms() -> None:
    """Give the metadata what only PostgreSQL reads (the open-episode index's WHERE).

    Called when a PostgreSQL engine is made: naming a `postgresql_*` option in the tables
    above would load SQLAlchemy's PostgreSQL dialect in every process, ~70 ms of a SQLite
    bot's start-up. Both forms are in the migrations, and a test compares them with this
    metadata on both databases."""
    index = next(i for i in alert_groups.indexes if i.name == "uq_alert_groups_open")
    index.dialect_kwargs["postgresql_where"] = _OPEN_GROUP


# Cases linked to Slack threads (issue 28): the case's card in the thread, whether the thread's
# replies become case comments, and how far the case's Kibana activity has been brought into it
# (`seen` user actions, oldest first; one replica at a time holds the case's lease to read more).
case_links = Table(
    "case_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=True),
    Column("channel", String(64), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("space", String(255), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("card_ts", String(32), nullable=True),
    Column("syncing", Boolean, nullable=False, default=False, server_default=sa_false()),
    Column("seen", Integer, nullable=False, default=0, server_default=text("0")),
    Column("linked_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("linked_by", String(32), nullable=True),  # the Slack user who linked it (App Home lists it)
    Column("title", String(255), nullable=True),  # the case's title when it was linked
    UniqueConstraint("channel", "thread_ts", "case_id", name="uq_case_links_thread_case"),
    Index("ix_case_links_case", "space", "case_id"),
    Index("ix_case_links_linked_at", "linked_at"),
    Index("ix_case_links_linked_by", "linked_by"),
    sqlite_autoincrement=True,
)

# What the bot itself did to a linked case, so that its activity is not echoed into the thread:
# `field` is `comment` (value: the comment's id), `status` or `severity` (value: what it was set to).
case_echoes = Table(
    "case_echoes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", String(64), nullable=False),
    Column("field", String(32), nullable=False),
    Column("value", String(255), nullable=False),
    Column("noted_at", UtcDateTime, nullable=False),
    Index("ix_case_echoes_case", "case_id", "field", "value"),
    sqlite_autoincrement=True,
)
