"""`health subscribe|unsubscribe|subscriptions` over signed HTTP against the fake Slack and the
fake Kibana, and a subscription's job posting the report to its channel."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.scheduler import HealthScheduler
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver


async def run(driver: SlackDriver, slack: FakeSlack, text: str, channel: str = "C0ALERTS") -> dict[str, Any]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, channel_id=channel))
    assert response.status_code == 200
    if response.content and response.json().get("text"):  # answered in the ack (usage errors)
        return dict(response.json())
    await slack.wait_for(lambda: len(slack.responses) > before)
    return slack.responses[before].body


def scheduler_of(bot: RunningBot) -> HealthScheduler[Any]:
    found = bot.runtime.part(HealthScheduler)
    assert isinstance(found, HealthScheduler)
    return found


def everything(answer: dict[str, Any]) -> str:
    return answer.get("text", "") + str(answer.get("blocks", ""))


async def test_subscribe_answers_with_id_description_and_next_times(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    answer = await run(driver, slack, "health subscribe every 15m --on-change --space ops")
    assert answer["response_type"] == "in_channel"
    [subscription] = await bot.runtime.services.store.list_subscriptions(channel="C0ALERTS")
    assert (subscription.schedule, subscription.cron, subscription.timezone) == ("every 15m", "*/15 * * * *", "UTC")
    assert (subscription.space, subscription.on_change, subscription.created_by) == ("ops", True, "U0ALICE")
    text = answer["text"]
    assert f"(subscription *#{subscription.id}*)" in text and "every 15 minutes" in text and "space `ops`" in text
    fallbacks = re.findall(r"\|(\d{4}-\d\d-\d\d \d\d:\d\d) UTC>", text)
    assert len(fallbacks) == 3
    minutes = [datetime.strptime(f, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for f in fallbacks]
    assert all(m.minute % 15 == 0 for m in minutes) and minutes == sorted(minutes)
    assert minutes[1] - minutes[0] == timedelta(minutes=15)
    assert [job.id for job in scheduler_of(bot).apscheduler.get_jobs()] == ["health:UTC|*/15 * * * *"]


async def test_a_bad_schedule_gets_the_reason_and_examples(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    answer = await run(driver, slack, "health subscribe every 7m")
    assert answer["response_type"] == "ephemeral"
    assert "cannot be kept exactly by a clock" in answer["text"] and "Examples:" in answer["text"]
    assert "health subscribe <schedule>" in answer["text"]
    answer = await run(driver, slack, "health subscribe daily 25:00")
    assert "not a time of day" in answer["text"]
    assert await bot.runtime.services.store.list_subscriptions() == []


async def test_on_change_may_check_every_minute_and_posting_every_time_may_not(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    answer = await run(driver, slack, 'health subscribe "every 1m"')
    assert answer["response_type"] == "ephemeral"
    assert (
        "`every 1m` is too often: health reports can come at most every 5 minutes (try `every 5m`)." in (answer["text"])
    )
    assert "Add `--on-change` to check that often and post only when the health changes." in answer["text"]
    assert await bot.runtime.services.store.list_subscriptions() == []

    answer = await run(driver, slack, 'health subscribe "every 1m" --on-change')
    assert answer["response_type"] == "in_channel"
    assert "when the health changes, checked every minute" in answer["text"]
    [subscription] = await bot.runtime.services.store.list_subscriptions(channel="C0ALERTS")
    assert (subscription.schedule, subscription.cron, subscription.on_change) == ("every 1m", "* * * * *", True)
    fallbacks = re.findall(r"\|(\d{4}-\d\d-\d\d \d\d:\d\d) UTC>", answer["text"])
    minutes = [datetime.strptime(f, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for f in fallbacks]
    assert [b - a for a, b in itertools.pairwise(minutes)] == [timedelta(minutes=1)] * 2
    assert [job.id for job in scheduler_of(bot).apscheduler.get_jobs()] == ["health:UTC|* * * * *"]
    listing = everything(await run(driver, slack, "health subscriptions"))
    assert f"*#{subscription.id}* · every minute" in listing and "only when the health changes" in listing


async def test_a_channel_without_the_bot_is_refused(driver: SlackDriver, slack: FakeSlack, bot: RunningBot) -> None:
    slack.add_channel("C0QUIET", "quiet", is_member=False)
    answer = await run(driver, slack, "health subscribe every 1h", channel="C0QUIET")
    assert "not a member of this channel" in answer["text"] and "/invite" in answer["text"]
    slack.add_channel("C0OLD", "old").is_archived = True
    answer = await run(driver, slack, "health subscribe every 1h", channel="C0OLD")
    assert "archived" in answer["text"]
    assert await bot.runtime.services.store.list_subscriptions() == []
    assert [c.params["channel"] for c in slack.calls_to("conversations.info")] == ["C0QUIET", "C0OLD"]


async def test_list_and_unsubscribe(driver: SlackDriver, slack: FakeSlack, bot: RunningBot) -> None:
    await run(driver, slack, "health subscribe every 1h")
    await run(driver, slack, "health subscribe daily 09:00 Europe/Paris --on-change")
    slack.add_channel("C0OTHER", "other")
    await run(driver, slack, "health subscribe every 2h", channel="C0OTHER")
    first, second, elsewhere = await bot.runtime.services.store.list_subscriptions()
    await bot.runtime.services.store.set_subscription_paused(second.id, True, reason="the channel is archived")

    listing = everything(await run(driver, slack, "health subscriptions"))
    assert f"*#{first.id}* · every hour" in listing and f"*#{second.id}* · daily at 09:00 Europe/Paris" in listing
    assert "only when the health changes" in listing and "space `default`" in listing
    assert "*paused*: the channel is archived" in listing and "next report <!date^" in listing
    assert f"#{elsewhere.id}" not in listing

    answer = await run(driver, slack, f"health unsubscribe {elsewhere.id}")  # another channel's: not found here
    assert f"no health-report subscription #{elsewhere.id} in this channel" in answer["text"]
    answer = await run(driver, slack, "health unsubscribe 999")
    assert "no health-report subscription #999 in this channel" in answer["text"]
    answer = await run(driver, slack, f"health unsubscribe {first.id}")
    assert f"removed health-report subscription #{first.id} (every hour" in answer["text"]
    answer = await run(driver, slack, "health unsubscribe all")
    assert f"removed 1 health-report subscription from this channel: #{second.id}" in answer["text"]
    assert [s.id for s in await bot.runtime.services.store.list_subscriptions()] == [elsewhere.id]
    answer = await run(driver, slack, "health subscriptions")
    assert "No health reports are posted in this channel" in answer["text"]
    assert {g.cron for g in scheduler_of(bot).groups()} == {"0 */2 * * *"}
    audit = [(e.action, e.target, e.user_id) for e in await bot.runtime.services.store.list_audit(limit=10)]
    assert ("health unsubscribe", f"subscription {first.id}", "U0ALICE") in audit
    assert ("health unsubscribe", "all", "U0ALICE") in audit
    assert ("health subscribe", f"subscription {elsewhere.id}", "U0ALICE") in audit


async def test_a_responder_may_not_subscribe(driver: SlackDriver, slack: FakeSlack, bot: RunningBot) -> None:
    before = len(slack.responses)
    await driver.post(driver.slash_command("health subscribe every 1h", user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "operator" in slack.responses[-1].body["text"]
    assert await bot.runtime.services.store.list_subscriptions() == []


async def test_the_job_posts_the_report_to_the_channel(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", execution_status="error", error_reason="read")
    await run(driver, slack, "health subscribe every 5m")
    [subscription] = await bot.runtime.services.store.list_subscriptions()
    [job] = scheduler_of(bot).apscheduler.get_jobs()
    job.modify(next_run_time=datetime.now(UTC) - timedelta(seconds=1))  # its time has come
    scheduler_of(bot).apscheduler.wakeup()
    [call] = await slack.wait_for("chat.postMessage")
    assert call.ok and call.params["channel"] == "C0ALERTS"
    [message] = [m for m in slack.channel_messages("C0ALERTS") if m["text"].startswith("Kibana alerting health:")]
    text = str(message["blocks"])
    assert "Kibana alerting health: warn" in text and "*read*: warn" in text
    assert f"Scheduled report #{subscription.id} (every 5 minutes)" in text
    assert kibana.count("GET", "/api/alerting/_health") == 1


async def test_rate_limit_is_waited_out(slack: FakeSlack, kibana: FakeKibana, bot: RunningBot) -> None:
    store = bot.runtime.services.store
    subscription = await store.add_subscription(
        channel="C0ALERTS", space="default", schedule="every 5m", cron="*/5 * * * *", timezone="UTC",
        on_change=False, created_by="U0ALICE",
    )  # fmt: skip
    scheduler = scheduler_of(bot)
    [group] = await scheduler.sync()
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    started = datetime.now(UTC)
    results = await scheduler.tick(group, datetime(2026, 1, 5, 10, 10, tzinfo=UTC))
    assert results == {subscription.id: "posted"}
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert datetime.now(UTC) - started >= timedelta(seconds=1)  # Retry-After honoured
    assert len(slack.channel_messages("C0ALERTS")) == 1


async def test_an_archived_channel_pauses_its_subscription(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_channel("C0GONE", "gone")
    await run(driver, slack, "health subscribe every 5m", channel="C0GONE")
    [subscription] = await bot.runtime.services.store.list_subscriptions()
    slack.archive_channel("C0GONE")
    scheduler = scheduler_of(bot)
    [group] = scheduler.groups()
    fire = datetime(2026, 1, 5, 10, 10, tzinfo=UTC)
    assert await scheduler.tick(group, fire) == {subscription.id: "paused"}
    assert await scheduler.tick(group, fire + timedelta(minutes=5)) == {}  # not retried
    assert len(slack.calls_to("chat.postMessage")) == 1
    stored = await bot.runtime.services.store.get_subscription(subscription.id)
    assert stored is not None and stored.paused and "archived" in (stored.paused_reason or "")
    await scheduler.sync()
    assert scheduler.groups() == set()
