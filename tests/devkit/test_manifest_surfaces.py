"""manifest.json declares what App Home and the unfurls need: the Home tab, the events the features
listen to (and no other), the unfurl domain, and links:read / links:write; the fake Slack reads the same."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devkit.fake_slack import FakeSlack

ROOT = Path(__file__).parents[2]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
EVENTS = re.compile(r"events=\{([^}]*)\}")


def events_the_features_listen_to() -> set[str]:
    """The event types of every `Contribution(events={...})` in handlers/ (the features' registrations)."""
    found: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        for table in EVENTS.findall(path.read_text()):
            found |= set(re.findall(r"\"([a-z_]+)\"\s*:", table))
    return found


def test_the_manifest_subscribes_to_exactly_the_events_the_features_listen_to() -> None:
    listened = events_the_features_listen_to()
    assert listened == {"app_home_opened", "link_shared"}
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == listened


def test_home_tab_unfurl_domain_and_link_scopes() -> None:
    features = MANIFEST["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["unfurl_domains"] == ["kibana.example.com"]  # docs/slack-app.md: set it to KIBANA_PUBLIC_URL's host
    assert {"links:read", "links:write"} <= set(MANIFEST["oauth_config"]["scopes"]["bot"])
    fake = FakeSlack()
    assert fake.home_tab_enabled and fake.unfurl_domains == ["kibana.example.com"]
    assert {"links:read", "links:write"} <= set(fake.scopes)
