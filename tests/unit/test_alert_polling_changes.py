"""The poller's fast path: an alert document written again unchanged is recognised by its uuid and what
a message shows of it, without being read into a model; any change to what a message shows is still
noticed and handed on. Channels are found by rule and tag as the subscriptions match; the store is
asked a bounded number of times a tick, whatever the number of spaces."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts_index import AlertChange, AlertCursor, AlertDocument
from bot.services import Services
from bot.settings import load_settings
from bot.slack_identity import BotUser
from bot.store import AlertSubscription, Store
from bot.store.alert_groups import Recorded
from devkit.fake_elasticsearch import FakeElasticsearch
from handlers.alerts.polling import AlertPoller
from handlers.alerts.subscribed_channels import SubscribedChannels, matches
from handlers.alerts.webhook import AlertDelivery
from handlers.shared.replies import Replies

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Recording:
    """The delivery path, recording what it is handed: (channel, delivery)."""

    def __init__(self) -> None:
        self.handed: list[tuple[str, AlertDelivery]] = []

    async def record(self, delivery: AlertDelivery, channel: str, *, fan_out: bool = False) -> Recorded:
        self.handed.append((channel, delivery))
        return Recorded(outcome="new", group_id=len(self.handed), version=1, first=True, recovered=False)


World = tuple[AlertPoller, Recording, FakeElasticsearch, Store]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeElasticsearch() as es:
        settings = load_settings(
            slack_bot_token="xoxb-test",
            elasticsearch_url=es.url,
            elasticsearch_api_key=es.api_key,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            _env_file=None,
        )
        store = await Store.open(settings.database_url)
        services = Services(
            settings=settings, kibana=cast(Any, None), store=store, access=cast(Any, None), slack=cast(Any, None)
        )
        intake = Recording()
        poller = AlertPoller(services, intake, Replies(AsyncWebClient(token="xoxb-test"), None, BotUser()))
        await store.add_alert_subscription(channel="C1", space="default", kind="all", value="", created_by="U1")
        try:
            yield poller, intake, es, store
        finally:
            await poller.close()
            await store.close()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The alert uuids of the documents read into a model (`AlertDocument.change`), in order."""
    read: list[str] = []
    change = AlertDocument.change

    def counted(self: AlertDocument) -> Any:
        read.append(self.alert_uuid)
        return change(self)

    monkeypatch.setattr(AlertDocument, "change", counted)
    return read


def ticks() -> Callable[[], datetime]:
    """Tick times, each in a slot of its own (the subscription was made just now: after it)."""
    times = (datetime.now(UTC) + timedelta(minutes=10 * n) for n in itertools.count(1))
    return lambda: next(times)


async def test_an_alert_written_again_unchanged_is_recognised_without_being_read(
    world: World, reads: list[str]
) -> None:
    poller, intake, es, _ = world
    next_tick, now = ticks(), datetime.now(UTC)
    first = es.add_alert(rule_id="r1", instance_id="host-1", at=now)
    es.add_alert(rule_id="r1", instance_id="host-2", at=now)
    poll = (await poller.tick(next_tick()))["default"]
    assert (poll.changes, poll.handed_on, len(reads)) == (2, 2, 2)
    for n in range(1, 4):  # the rule runs again, and again: the same alerts written again
        es.add_alert(rule_id="r1", instance_id="host-1", at=now + timedelta(seconds=n))
        es.add_alert(rule_id="r1", instance_id="host-2", at=now + timedelta(seconds=n))
        poll = (await poller.tick(next_tick()))["default"]
        assert (poll.changes, poll.handed_on, poll.unshown) == (2, 0, 0)
    assert len(reads) == 2 and len(intake.handed) == 2  # read once each, when they were new
    assert first["kibana.alert.uuid"] in reads


WRITES: dict[str, Callable[[FakeElasticsearch, datetime], object]] = {
    "a new reason": lambda es, at: es.add_alert(rule_id="r1", instance_id="host-1", reason="now at 99%", at=at),
    "untracked (only status, end and time range change)": lambda es, at: es.untrack(
        rule_id="r1", instance_id="host-1", at=at
    ),
    "recovered": lambda es, at: es.recover(rule_id="r1", instance_id="host-1", at=at),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
async def test_a_change_to_an_otherwise_unchanged_document_is_handed_on(
    world: World, reads: list[str], write: str
) -> None:
    poller, intake, es, _ = world
    next_tick, now = ticks(), datetime.now(UTC)
    es.add_alert(rule_id="r1", instance_id="host-1", at=now)
    es.add_alert(rule_id="r1", instance_id="host-2", at=now)
    await poller.tick(next_tick())
    es.add_alert(rule_id="r1", instance_id="host-1", at=now + timedelta(seconds=1))  # recognised, unchanged
    assert (await poller.tick(next_tick()))["default"].handed_on == 0
    WRITES[write](es, now + timedelta(seconds=2))
    es.add_alert(rule_id="r1", instance_id="host-2", at=now + timedelta(seconds=2))  # unchanged beside it
    poll = (await poller.tick(next_tick()))["default"]
    assert poll.handed_on == 1
    [(channel, delivery)] = intake.handed[2:]
    assert (channel, delivery.alert_id) == ("C1", "host-1")
    if write == "a new reason":
        assert (delivery.state, delivery.reason) == ("active", "now at 99%")
    else:
        assert delivery.state == "recovered"
    assert len(reads) == 3  # the two new alerts, then only the changed document


async def test_a_change_of_the_rules_name_or_tags_is_handed_on(world: World) -> None:
    poller, intake, es, _ = world
    next_tick, now = ticks(), datetime.now(UTC)
    doc = es.add_alert(rule_id="r1", instance_id="host-1", rule_name="CPU high", tags=["prod"], at=now)
    await poller.tick(next_tick())
    alert = es.alerts[doc["kibana.alert.uuid"]]
    alert.tags.append("db")  # the rule was edited: its next run writes the alert with the new tags
    es.add_alert(rule_id="r1", instance_id="host-1", at=now + timedelta(seconds=1))
    assert (await poller.tick(next_tick()))["default"].handed_on == 1
    alert.rule_name = "CPU very high"
    es.add_alert(rule_id="r1", instance_id="host-1", at=now + timedelta(seconds=2))
    assert (await poller.tick(next_tick()))["default"].handed_on == 1
    assert [(d.rule_name, d.tags) for _, d in intake.handed] == [
        ("CPU high", ["prod"]),
        ("CPU high", ["prod", "db"]),
        ("CPU very high", ["prod", "db"]),
    ]


async def test_documents_held_as_objects_are_read_and_recognised_too(world: World, reads: list[str]) -> None:
    poller, intake, es, _ = world
    next_tick, now = ticks(), datetime.now(UTC)
    doc = es.add_alert(rule_id="r1", instance_id="host-1", at=now)
    held: dict[str, Any] = {}
    for key, value in doc.items():  # {"kibana": {"alert": {"uuid": …}}}: Elasticsearch returns what it was sent
        *parents, last = key.split(".")
        node = held
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    answer = {"hits": {"hits": [{"_index": "i", "_id": doc["kibana.alert.uuid"], "_source": held,
                                 "sort": [int(now.timestamp() * 1000), doc["kibana.alert.uuid"]]}]}}  # fmt: skip
    es.fault("POST", r"/.+/_search", status=200, body=answer, times=2)
    assert (await poller.tick(next_tick()))["default"].handed_on == 1
    assert (await poller.tick(next_tick()))["default"].handed_on == 0  # read (no quick key), recognised
    assert len(reads) == 2 and [d.alert_id for _, d in intake.handed] == ["host-1"]


async def test_the_store_is_asked_a_bounded_number_of_times_a_tick(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    poller, _, es, store = world
    next_tick, now = ticks(), datetime.now(UTC)
    for n in range(6):
        space = f"space-{n}"
        await store.add_alert_subscription(channel=f"C{n}", space=space, kind="all", value="", created_by="U1")
        es.add_alert(rule_id=f"r{n}", instance_id="host-1", space=space, at=now)
    await poller.tick(next_tick())  # the first tick also starts each space's watermark
    writes, reads_ = 0, 0
    write, read = store._write, store._read

    def counted_write() -> Any:
        nonlocal writes
        writes += 1
        return write()

    def counted_read() -> Any:
        nonlocal reads_
        reads_ += 1
        return read()

    monkeypatch.setattr(store, "_write", counted_write)
    monkeypatch.setattr(store, "_read", counted_read)
    for n in range(7):
        es.add_alert(rule_id=f"r{n % 6}", instance_id="host-2", space=f"space-{n % 6}", at=now + timedelta(seconds=1))
    polls = await poller.tick(next_tick())
    assert sum(p.polled for p in polls.values()) == 7 and sum(p.changes for p in polls.values()) >= 6
    assert (writes, reads_) == (2, 2)  # claims; watermarks moved — subscriptions; watermarks read
    states = {s.space: s.cursor_ms for s in await store.alert_poll_states()}
    assert all(states[f"space-{n}"] == int((now + timedelta(seconds=1)).timestamp() * 1000) for n in range(6))


def subscription(n: int, kind: str, value: str, channel: str) -> AlertSubscription:
    return AlertSubscription(n, channel, "default", kind, value, "U1", None, T0)  # type: ignore[arg-type]


def change(rule: str, tags: list[str]) -> AlertChange:
    return AlertChange.model_validate({
        "kibana.alert.uuid": "u", "kibana.alert.instance.id": "h", "kibana.alert.rule.uuid": rule,
        "kibana.alert.rule.tags": tags, "kibana.alert.status": "active", "@timestamp": T0,
        "cursor": AlertCursor(timestamp_ms=0, alert_uuid="u"),
    })  # fmt: skip


def test_channels_are_those_the_subscriptions_match_in_their_order() -> None:
    subscriptions = [
        subscription(1, "tag", "prod", "C3"),
        subscription(2, "rule", "r1", "C1"),
        subscription(3, "all", "", "C2"),
        subscription(4, "tag", "db", "C1"),  # C1 again: once
        subscription(5, "rule", "r2", "C4"),
        subscription(6, "tag", "prod", "C5"),
    ]
    channels = SubscribedChannels(subscriptions)
    for rule, tags in itertools.product(["r1", "r2", "r3"], [[], ["prod"], ["db", "prod"], ["db", "db"], ["x"]]):
        alert = change(rule, tags)
        looped = list(dict.fromkeys(s.channel for s in subscriptions if matches(s, alert)))
        assert channels.of(alert) == looped, (rule, tags)
    assert SubscribedChannels([subscription(1, "rule", "r1", "C1")]).of(change("r2", ["prod"])) == []
