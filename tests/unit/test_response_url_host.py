"""response_urls are only followed to Slack's host, derived from SLACK_API_URL."""

from __future__ import annotations

import pytest

from handlers.shared.replies import slack_origin_allows


@pytest.mark.parametrize(
    ("api", "url", "allowed"),
    [
        ("https://slack.com/api/", "https://hooks.slack.com/commands/T1/2/abc", True),
        ("https://slack.com/api/", "https://slack.com/x", True),
        ("https://slack-gov.com/api/", "https://hooks.slack-gov.com/actions/T1/2/abc", True),
        ("https://slack.com/api/", "http://hooks.slack.com/commands/T1/2/abc", False),
        ("https://slack.com/api/", "https://evil.example/commands", False),
        ("https://slack.com/api/", "https://slack.com.evil.example/x", False),
        ("https://slack.com/api/", "https://evilslack.com/x", False),
        ("https://slack.com/api/", "https://user@hooks.slack.com/x", False),
        ("https://slack.com/api/", "https://hooks.slack.com:8443/x", False),
        ("http://127.0.0.1:4000/api/", "http://127.0.0.1:4000/response/abc", True),
        ("http://127.0.0.1:4000/api/", "http://127.0.0.1:4001/response/abc", False),
        ("http://127.0.0.1:4000/api/", "http://localhost:4000/response/abc", False),
        ("http://127.0.0.1:4000/api/", "not a url", False),
        ("http://127.0.0.1:4000/api/", "http://127.0.0.1:99999/x", False),
    ],
)
def test_only_slacks_host(api: str, url: str, allowed: bool) -> None:
    assert slack_origin_allows(api, url) is allowed
