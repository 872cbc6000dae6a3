"""Issue 25, item 6 over real HTTP: a group message's "Mute one alert…" menu lists alerts whose ids
are too long for Slack's 150-character option value, by a sealed reference; a forged one is refused."""

from __future__ import annotations

from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .test_e2e_alert_groups import settled, storm
from .test_e2e_alerts_webhook import action_ids, deliver, element, top_level

PREFIX = "kubernetes.pod/" + "checkout-service-deployment-" * 4  # long ids sharing a long beginning


def long_id(n: int) -> str:
    return f"{PREFIX}{n:03}-{'x' * 40}-end{n}"


async def test_alerts_with_long_ids_are_in_the_menus_and_can_be_muted(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    ids = [long_id(n) for n in range(3)]
    assert all(len(i) > 150 for i in ids)
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=ids)
    for n, body in enumerate(storm("r1", range(3))):
        assert (await deliver(bot, {**body, "alert_id": ids[n]})).status_code in (200, 202)
    found = await settled(slack, "C0ALERTS", {"r1": (3, 0)})
    message = found["r1"]
    menu = element(message, "alert_mute")
    options = menu["options"]
    assert len(options) == 3  # none is left out
    assert all(len(o["value"]) <= 150 and len(o["text"]["text"]) <= 75 for o in options)
    labels = [o["text"]["text"] for o in options]
    assert all("…" in label for label in labels) and len(set(labels)) == 3  # clipped visibly, still told apart
    chosen = next(o for o in options if o["text"]["text"].endswith("end1"))

    updates = len(slack.calls_to("chat.update"))
    assert (await driver.post(driver.block_action("alert_mute", chosen["value"], message=message))).status_code == 200
    await slack.wait_for(lambda: any(r.path.endswith(f"/r1/alert/{ids[1]}/_mute") for r in kibana.requests))
    await slack.wait_for("chat.update", count=updates + 1)

    def unmute_menu() -> dict[str, Any] | None:
        now = slack.message("C0ALERTS", message["ts"])
        return element(now, "alert_unmute") if now and "alert_unmute" in action_ids(now) else None

    menu = await slack.wait_for(unmute_menu)
    assert [o["text"]["text"] for o in menu["options"]] == [chosen["text"]["text"]]
    assert len(top_level(slack)) == 1


async def test_a_forged_reference_is_refused_and_audited(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    ids = [long_id(n) for n in range(2)]
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=ids)
    for n, body in enumerate(storm("r1", range(2))):
        assert (await deliver(bot, {**body, "alert_id": ids[n]})).status_code in (200, 202)
    message = (await settled(slack, "C0ALERTS", {"r1": (2, 0)}))["r1"]
    value = element(message, "alert_mute")["options"][0]["value"]
    tag, _, body = value.partition(".")
    for forged in (
        f"{tag}.{body.replace('1', '7').replace('2', '7')}",
        f"{tag[:-1]}{'A' if tag[-1] != 'A' else 'B'}.{body}",
    ):
        element(message, "alert_mute")["options"][0]["value"] = forged  # the client sends what it shows
        before = len(slack.responses)
        await driver.post(driver.block_action("alert_mute", forged, message=message))
        await slack.wait_for(lambda before=before: len(slack.responses) > before)
        assert slack.responses[-1].body["text"] == "This button's value is not one the bot made."
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert [(e.action, e.result) for e in entries] == [("mute", "refused")] * 2
    assert all("forged value" in e.detail for e in entries)
    assert [r for r in kibana.requests if r.method != "GET"] == []
