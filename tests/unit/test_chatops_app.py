"""ChatOpsApp is configured by its arguments only, never by Bolt's own environment variables."""

from __future__ import annotations

import logging
import os

import pytest
from slack_bolt.middleware.authorization.async_authorization import AsyncAuthorization
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_sdk.web.async_client import AsyncWebClient

from bot.request_context import ChatOpsApp, OneAuthTest


def test_bolt_reads_nothing_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "an-oauth-client-secret")
    client = AsyncWebClient(token="xoxb-from-settings")
    with caplog.at_level(logging.DEBUG, logger="slack_bolt"):
        app = ChatOpsApp(client=client, signing_secret="signing-secret", process_before_response=False)
    # Bolt used to warn "As you gave `client` as well, `token` will be unused." (SLACK_BOT_TOKEN), and
    # to switch to OAuth installations (SLACK_CLIENT_ID/SECRET), which authorise no request of this bot.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert app.client is client and app.oauth_flow is None
    # single-workspace authorization (one auth.test for a burst of first requests), not OAuth's
    authorization = [m for m in app._async_middleware_list if isinstance(m, AsyncAuthorization)]
    assert [type(m) for m in authorization] == [OneAuthTest]
    assert isinstance(authorization[0], AsyncSingleTeamAuthorization)
    # The environment is as it was.
    assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-from-the-environment"
    assert (os.environ["SLACK_CLIENT_ID"], os.environ["SLACK_CLIENT_SECRET"]) == ("123.456", "an-oauth-client-secret")
