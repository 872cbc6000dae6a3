"""Alert documents the bot cannot keep as they are (handlers.alerts.alert_documents, and the poller's
use of it): shown clipped to the delivery's bounds, or skipped and reported once per cause and
interval; one the store keeps refusing is skipped while the alerts after it go through."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts_index import AlertChange, AlertCursor
from bot.services import Services
from bot.settings import load_settings
from bot.slack_identity import BotUser
from bot.store import Store
from bot.store.alert_groups import Recorded
from devkit.fake_elasticsearch import FakeElasticsearch
from handlers.alerts.alert_documents import LIMITS, UNTRACKED, Reported, cause_of, delivery_of
from handlers.alerts.polling import GIVE_UP_AFTER, AlertPoller
from handlers.alerts.webhook import AlertDelivery
from handlers.shared.replies import Replies

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def change(**fields: Any) -> AlertChange:
    values: dict[str, Any] = {
        "kibana.alert.uuid": "u-1",
        "kibana.alert.instance.id": "host-1",
        "kibana.alert.rule.uuid": "r1",
        "kibana.alert.rule.name": "CPU high",
        "kibana.alert.status": "active",
        "kibana.alert.action_group": "threshold met",
        "kibana.alert.start": T0,
        "@timestamp": T0,
        "cursor": AlertCursor(timestamp_ms=0, alert_uuid="u-1"),
    }
    values.update(fields)
    return AlertChange.model_validate(values)


def test_what_is_over_the_deliverys_bounds_is_clipped_to_them() -> None:
    """The ids the delivery model refuses past its bounds are clipped here; the texts (rule name, tags,
    reason) the model clips itself, to what Slack can show, as it does for the webhook."""
    assert (LIMITS["alert_id"], LIMITS["rule_id"], LIMITS["alert_uuid"]) == (512, 255, 255)  # read from the model
    long = change(
        **{
            "kibana.alert.instance.id": "h" * 600,
            "kibana.alert.rule.name": "n" * 1001,
            "kibana.alert.rule.tags": [f"t{i}" for i in range(250)],
            "kibana.alert.reason": "  " + "r" * 3010,
        }
    )
    delivery, clipped = delivery_of(long, "default")
    assert delivery.alert_id == "h" * 511 + "…"
    assert delivery.rule_name == "n" * 999 + "…" and delivery.tags == [f"t{i}" for i in range(100)]
    assert delivery.reason == "r" * 2999 + "…"
    assert clipped == ["alert_id over 512 characters"]
    assert delivery_of(change(), "default")[1] == []


def test_an_untracked_alert_is_delivered_recovered_saying_so() -> None:
    untracked, _ = delivery_of(
        change(**{"kibana.alert.status": "untracked", "kibana.alert.end": T0 + timedelta(hours=1)}), "ops"
    )
    assert (untracked.state, untracked.action_group, untracked.reason) == ("recovered", "recovered", UNTRACKED)
    assert (untracked.space_id, untracked.date) == ("ops", T0 + timedelta(hours=1))


def test_what_cannot_be_shown_says_why() -> None:
    with pytest.raises(ValidationError) as refused:
        delivery_of(change(**{"kibana.alert.rule.uuid": "no spaces allowed"}), "default")
    assert cause_of(refused.value).startswith("rule_id: Value error, a Kibana rule id has only")


def test_a_cause_is_reported_once_per_space_and_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.alerts.alert_documents")
    clock = [0.0]
    reported = Reported(timedelta(minutes=10), clock=lambda: clock[0])
    assert reported("default", "alert_id over 512 characters", "alert u-1 of rule r1 shown clipped")
    assert not reported("default", "alert_id over 512 characters", "alert u-2 of rule r1 shown clipped")
    assert reported("ops", "alert_id over 512 characters", "alert u-3 of rule r9 shown clipped")
    assert reported("default", "reason over 20000 characters", "alert u-2 of rule r1 shown clipped")
    clock[0] = 601.0
    assert reported("default", "alert_id over 512 characters", "alert u-4 of rule r1 shown clipped")
    assert [r.getMessage().split(": ", 2)[2][:10] for r in caplog.records] == [
        "alert u-1 ",
        "alert u-3 ",
        "alert u-2 ",
        "alert u-4 ",
    ]


# ------------------------------------------------------------------------ the poller, one alert refused
class Refusing:
    """The delivery path, refusing every delivery of the alerts in `refused` (or all, when `down`)."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.down = False
        self.recorded: list[str] = []

    async def record(self, delivery: AlertDelivery, channel: str, *, fan_out: bool = False) -> Recorded:
        if self.down or delivery.alert_id in self.refused:
            raise RuntimeError("the store refuses it")
        self.recorded.append(delivery.alert_id)
        return Recorded(outcome="new", group_id=1, version=1, first=True, recovered=False)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[AlertPoller, Refusing, FakeElasticsearch, Store]]:
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
        intake = Refusing()
        poller = AlertPoller(services, intake, Replies(AsyncWebClient(token="xoxb-test"), None, BotUser()))
        await store.add_alert_subscription(channel="C1", space="default", kind="all", value="", created_by="U1")
        try:
            yield poller, intake, es, store
        finally:
            await poller.close()
            await store.close()


async def test_an_alert_the_store_keeps_refusing_is_skipped_and_the_others_go_through(
    world: tuple[AlertPoller, Refusing, FakeElasticsearch, Store],
) -> None:
    poller, intake, es, store = world
    now = datetime.now(UTC)
    es.add_alert(rule_id="r1", instance_id="bad", at=now)
    es.add_alert(rule_id="r1", instance_id="good", at=now + timedelta(seconds=1))
    intake.refused.add("bad")
    ticks = [now + timedelta(minutes=i) for i in range(1, 20)]
    for n in range(GIVE_UP_AFTER - 1):
        poll = (await poller.tick(ticks[n]))["default"]
        assert (poll.incomplete, poll.unshown, intake.recorded) == (True, 0, [])  # tried again next tick
    poll = (await poller.tick(ticks[GIVE_UP_AFTER - 1]))["default"]
    assert (poll.incomplete, poll.unshown, intake.recorded) == (False, 1, ["good"])

    async def down() -> bool:
        return False

    intake.down = True  # the store is down: every alert refused, and it does not answer; nothing is given up
    store.ping = down  # type: ignore[method-assign]
    es.add_alert(rule_id="r2", instance_id="later", at=now + timedelta(seconds=2))
    for n in range(GIVE_UP_AFTER + 1):
        poll = (await poller.tick(ticks[GIVE_UP_AFTER + n]))["default"]
        assert (poll.incomplete, poll.unshown) == (True, 0)
    intake.down = False
    poll = (await poller.tick(ticks[2 * GIVE_UP_AFTER + 1]))["default"]
    assert (poll.incomplete, intake.recorded) == (False, ["good", "later"])
