"""Uploaded files: files.info and the private download URL (bot token or sign-in redirect)."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack

SOURCE_MAP = b'{"version":3,"file":"main.js","sources":["main.ts"],"mappings":"AAAA"}'


async def test_files_info_points_at_this_server(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    added = fake_slack.add_file("main.js.map", SOURCE_MAP, "application/json")
    info = (await slack_client.files_info(file=added["id"]))["file"]
    assert info["id"] == added["id"]
    assert (info["name"], info["mimetype"], info["size"]) == ("main.js.map", "application/json", len(SOURCE_MAP))
    assert info["url_private_download"].startswith(fake_slack.base_url)
    assert info["url_private_download"].endswith("/download/main.js.map")


async def test_unknown_file(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        await slack_client.files_info(file="F0NOPE")
    assert missing.value.response["error"] == "file_not_found"


async def test_download_with_the_bot_token(fake_slack: FakeSlack) -> None:
    url = fake_slack.add_file("main.js.map", SOURCE_MAP, "application/json")["url_private_download"]
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers={"Authorization": f"Bearer {fake_slack.bot_token}"})
    assert response.status_code == 200
    assert response.content == SOURCE_MAP
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer xoxb-someone-else"}])
async def test_download_without_the_token_redirects_to_sign_in(fake_slack: FakeSlack, headers: dict[str, str]) -> None:
    url = fake_slack.add_file("main.js.map", SOURCE_MAP, "application/json")["url_private_download"]
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers=headers)
        assert response.status_code == 302
        followed = await client.get(url, headers=headers, follow_redirects=True)
    assert followed.status_code == 200
    assert followed.headers["Content-Type"].startswith("text/html")
    assert SOURCE_MAP not in followed.content
    assert [d["authorized"] for d in fake_slack.downloads] == [False, False]
