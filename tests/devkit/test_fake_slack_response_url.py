"""response_url: recorded, and applied to the conversation like Slack does."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from devkit.fake_slack import FakeSlack


async def test_posts_are_recorded(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url("cmd")
    assert url.startswith(fake_slack.base_url)
    answer = await AsyncWebhookClient(url).send(text="working on it", response_type="ephemeral")
    assert (answer.status_code, answer.body) == (200, "ok")
    (post,) = fake_slack.responses
    assert (post.name, post.url) == ("cmd", url)
    assert post.body == {"text": "working on it", "response_type": "ephemeral"}


async def test_fresh_urls_are_distinct(fake_slack: FakeSlack) -> None:
    assert fake_slack.response_url() != fake_slack.response_url()


async def test_unknown_url_is_404(fake_slack: FakeSlack) -> None:
    answer = await AsyncWebhookClient(f"{fake_slack.base_url}response/never-issued").send(text="x")
    assert answer.status_code == 404
    assert fake_slack.responses == []


async def test_empty_response_is_refused(fake_slack: FakeSlack) -> None:
    answer = await AsyncWebhookClient(fake_slack.response_url()).send_dict({"response_type": "ephemeral"})
    assert (answer.status_code, answer.body) == (400, "no_text")


async def test_replace_original_edits_the_clicked_message(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="firing")
    url = fake_slack.response_url(channel="C0ALERTS", message_ts=posted["ts"], user="U0ALICE")
    await AsyncWebhookClient(url).send(text="muted by alice", replace_original=True)
    assert fake_slack.message("C0ALERTS", posted["ts"])["text"] == "muted by alice"  # type: ignore[index]


async def test_delete_original(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="firing")
    url = fake_slack.response_url(channel="C0ALERTS", message_ts=posted["ts"])
    await AsyncWebhookClient(url).send_dict({"delete_original": True})
    assert fake_slack.message("C0ALERTS", posted["ts"]) is None


async def test_in_channel_posts_and_ephemeral_stays_private(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel="C0ALERTS", user="U0ALICE")
    await AsyncWebhookClient(url).send(text="health: ok", response_type="in_channel")
    await AsyncWebhookClient(url).send(text="only for alice")
    assert [m["text"] for m in fake_slack.channel_messages("C0ALERTS")] == ["health: ok"]
    assert [(e["user"], e["text"]) for e in fake_slack.ephemerals] == [("U0ALICE", "only for alice")]
