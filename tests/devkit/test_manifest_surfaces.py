"""manifest.json declares what App Home and the unfurls need: the Home tab, the events the features
listen to (and no other), the unfurl domain, and links:read / links:write; the fake Slack reads the same."""

from __future__ import annotations

import json
from pathlib import Path

from devkit.fake_slack import FakeSlack
from tests.slack_calls import events_the_code_listens_to

ROOT = Path(__file__).parents[2]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def test_the_features_events_are_among_those_the_manifest_subscribes_to() -> None:
    """The whole list is checked in test_manifest.py; here, that the scan sees these two features' tables."""
    listened = events_the_code_listens_to()
    assert {"app_home_opened", "link_shared"} <= listened
    assert {s.split(".")[0] for s in MANIFEST["settings"]["event_subscriptions"]["bot_events"]} == listened


def test_home_tab_unfurl_domain_and_link_scopes() -> None:
    features = MANIFEST["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["unfurl_domains"] == ["kibana.example.com"]  # docs/slack-app.md: set it to KIBANA_PUBLIC_URL's host
    assert {"links:read", "links:write"} <= set(MANIFEST["oauth_config"]["scopes"]["bot"])
    fake = FakeSlack()
    assert fake.home_tab_enabled and fake.unfurl_domains == ["kibana.example.com"]
    assert {"links:read", "links:write"} <= set(fake.scopes)
