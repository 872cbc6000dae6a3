"""The demo page in headless Chromium: what a newcomer does, and what the bot did about it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from devkit.demo import Demo

TIMEOUT = 10_000  # ms: generous bounds for "it appeared", never a measurement


async def expect_visible(locator: Any) -> None:
    from playwright.async_api import expect

    await expect(locator).to_be_visible(timeout=TIMEOUT)


async def send(page: Any, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")


async def test_health_command_from_the_composer_shows_the_report_only_to_me(page: Any, demo: Demo) -> None:
    await send(page, "/kibana health")
    report = page.locator("#messages .msg.ephemeral", has_text="alerting health")
    await expect_visible(report)
    assert "Only visible to you" in await report.inner_text()
    assert "warn" in await report.inner_text()  # the seeded failing rule
    assert demo.kibana is not None and demo.kibana.count("GET", "/api/alerting/_health") >= 1
    assert demo.slack.channel_messages("C0ALERTS") == []  # nothing was posted to the channel


async def test_sample_alert_then_mute_updates_the_message_and_threads_a_receipt(
    page: Any, demo: Demo, tmp_path: Path
) -> None:
    await send(page, "/kibana health")  # (for the screenshot: a report above the alert)
    await expect_visible(page.locator("#messages .msg.ephemeral", has_text="alerting health"))
    await page.click("#sample-alert")
    alert = page.locator("#messages .msg", has_text="High CPU on web hosts")
    await expect_visible(alert)
    for label in ("Mute alert", "Mute all", "Disable…", "Open case", "Open in Kibana"):
        await expect_visible(alert.get_by_role("button", name=label, exact=True))
    assert await alert.get_by_role("button", name="Unmute alert", exact=True).count() == 0  # not muted yet
    assert await alert.locator("select[data-action-id=rule_snooze]").count() == 1

    await alert.get_by_role("button", name="Mute alert", exact=True).click()
    await expect_visible(alert.get_by_text("muted alert web-01 of rule cpu-high", exact=False))
    await expect_visible(alert.get_by_role("button", name="Unmute alert", exact=True))  # now it is
    assert "@alice" in await alert.inner_text()  # <@U0ALICE> rendered as a mention
    assert demo.kibana is not None
    assert demo.kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 1

    await alert.get_by_role("button", name="1 reply").click()
    thread = page.locator("#thread-panel")
    await expect_visible(thread.get_by_text("muted alert web-01 of rule cpu-high."))
    assert await page.locator("#messages .msg:not(.ephemeral)").count() == 1  # updated in place, not posted again

    await page.mouse.move(5, 795)
    await page.evaluate("document.getElementById('messages').scrollTop = 1e9")
    shot = tmp_path / "demo.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get(
        "DEMO_SCREENSHOT"
    ):  # `DEMO_SCREENSHOT=docs/demo.png pytest tests/demo` refreshes the README's picture (docs/demo.png)
        shutil.copyfile(shot, os.environ["DEMO_SCREENSHOT"])


async def test_open_a_case_from_a_message_through_the_modal(page: Any, demo: Demo) -> None:
    await send(page, "Checkout is slow for EU customers since 10:05")
    message = page.locator("#messages .msg", has_text="Checkout is slow for EU customers")
    await expect_visible(message)
    await message.hover()
    await message.get_by_role("button", name="More actions").click()
    await message.get_by_role("button", name="Open Kibana case").click()

    modal = page.locator("#modal")
    await expect_visible(modal)
    title = modal.locator("#in-title")
    from playwright.async_api import expect

    await expect(title).to_have_value("Checkout is slow for EU customers since 10:05", timeout=TIMEOUT)
    await title.fill("")
    await page.click("#modal-submit")
    await expect_visible(modal.locator(".input-block[data-block-id=title] .field-error"))  # the bot's `errors`
    assert demo.kibana is not None and demo.kibana.count("POST", "/api/cases") == 0

    await title.fill("Checkout slow in EU")
    await modal.locator("#in-severity").select_option("high")
    await page.click("#modal-submit")
    await expect(modal).to_have_count(0, timeout=TIMEOUT)

    # the thread has the announcement and the case's card (issue 28), each with a link to the case
    await message.get_by_role("button", name=re.compile(r"^2 replies")).click()
    link = page.locator("#thread-panel a", has_text="Checkout slow in EU").first
    await expect_visible(link)
    cases = [c for c in demo.kibana.state.cases.values() if c["title"] == "Checkout slow in EU"]
    assert len(cases) == 1 and cases[0]["severity"] == "high"
    assert cases[0]["id"] in (await link.get_attribute("href") or "")


async def test_a_button_with_confirm_asks_first(page: Any, demo: Demo) -> None:
    await page.click("#sample-alert")
    alert = page.locator("#messages .msg", has_text="High CPU on web hosts")
    await expect_visible(alert)
    route = "/api/alerting/rule/{id}/_mute_all"
    assert demo.kibana is not None

    await alert.get_by_role("button", name="Mute all", exact=True).click()
    dialog = page.get_by_role("alertdialog", name="Mute all alerts?")
    await expect_visible(dialog)
    await dialog.get_by_role("button", name="Cancel").click()
    from playwright.async_api import expect

    await expect(dialog).to_have_count(0, timeout=TIMEOUT)
    assert demo.kibana.count("POST", route) == 0

    await alert.get_by_role("button", name="Mute all", exact=True).click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Mute all").click()
    await expect_visible(alert.get_by_text("muted all alerts of rule cpu-high", exact=False))
    assert demo.kibana.count("POST", route) == 1


async def test_snooze_select_sends_the_chosen_option(page: Any, demo: Demo) -> None:
    await page.click("#sample-alert")
    alert = page.locator("#messages .msg", has_text="High CPU on web hosts")
    await expect_visible(alert)
    options = await alert.locator("select[data-action-id=rule_snooze] option").all_inner_texts()
    assert len(options) > 2
    await alert.locator("select[data-action-id=rule_snooze]").select_option(index=1)
    await expect_visible(alert.get_by_text("snoozed rule cpu-high", exact=False))
    assert demo.kibana is not None and demo.kibana.count("POST", "/api/alerting/rule/{id}/snooze_schedule") == 1


async def test_mrkdwn_is_rendered_like_slack(page: Any) -> None:
    await page.wait_for_function("document.querySelector('#messages .empty') !== null", timeout=TIMEOUT)
    html = await page.evaluate(
        "mrkdwn('*bold* _it_ ~gone~ `a<b` <https://example.com/x?a=1&amp;b=2|the link> "
        "<@U0ALICE> <#C0ALERTS> <!here> 1 &lt; 2 &amp;&amp; 3 &gt; 2 :rotating_light:\\n```pre *not bold*```')"
    )
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<s>gone</s>" in html
    assert "<code>a&lt;b</code>" in html
    assert '<a href="https://example.com/x?a=1&amp;b=2"' in html and ">the link</a>" in html
    assert '<span class="mention">@alice</span>' in html
    assert '<span class="mention">#alerts</span>' in html
    assert '<span class="mention">@here</span>' in html
    assert "1 &lt; 2 &amp;&amp; 3 &gt; 2" in html
    assert "\U0001f6a8" in html
    assert "<pre>pre *not bold*</pre>" in html
    assert "<script" not in await page.evaluate("mrkdwn('<script>alert(1)</script> &lt;img src=x onerror=1&gt;')")
    unsafe = await page.evaluate("mrkdwn('<javascript:alert(1)|click>')")
    assert "href" not in unsafe and "click" in unsafe


async def test_a_views_update_keeps_what_the_user_typed(page: Any, demo: Demo) -> None:
    await send(page, "/kibana case Disk full on db-01")
    modal = page.locator("#modal")
    await expect_visible(modal)
    from playwright.async_api import expect

    await expect(modal.locator("#in-title")).to_have_value("Disk full on db-01", timeout=TIMEOUT)
    await modal.locator("#in-title").fill("Typed by me")
    view = demo.page.conversation.top_view()
    assert view is not None
    for block in view["blocks"]:  # the bot changes the form: a new initial description, same block ids
        if block.get("block_id") == "description":
            block["element"]["initial_value"] = "Filled in later"
    demo.page.conversation.update_view(view["id"], view)

    await expect(modal.locator("#in-description")).to_have_value("Filled in later", timeout=TIMEOUT)
    await expect(modal.locator("#in-title")).to_have_value("Typed by me", timeout=TIMEOUT)
