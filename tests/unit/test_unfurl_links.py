"""Which Kibana object a shared link names (handlers/unfurls/links.py): only pages of KIBANA_PUBLIC_URL."""

from __future__ import annotations

import pytest

from handlers.unfurls.links import KibanaLink, parse_link

BASE = "https://kibana.example.com"
RULE = "/app/management/insightsAndAlerting/triggersActions/rule"


@pytest.mark.parametrize(
    ("url", "kind", "object_id", "space"),
    [
        (f"{BASE}{RULE}/r1", "rule", "r1", "default"),
        (f"{BASE}/s/ops{RULE}/0b1c-2d3e", "rule", "0b1c-2d3e", "ops"),
        (f"{BASE}{RULE}/r1/", "rule", "r1", "default"),
        (f"{BASE}{RULE}/r1?tab=history#x", "rule", "r1", "default"),
        (f"{BASE}/app/security/cases/c-1", "case", "c-1", "default"),
        (f"{BASE}/s/sec/app/observability/cases/c-2", "case", "c-2", "sec"),
        (f"{BASE}/app/management/insightsAndAlerting/cases/c-3", "case", "c-3", "default"),
        (f"{BASE}/app/observability/alerts/8f0c2a4e-1111", "alert", "8f0c2a4e-1111", "default"),
        (f"{BASE}/s/sec/app/security/alerts/redirect/abc123?index=.alerts-security", "alert", "abc123", "sec"),
        ("https://KIBANA.example.com/app/security/cases/c-1", "case", "c-1", "default"),
    ],
)
def test_the_pages_the_bot_unfurls(url: str, kind: str, object_id: str, space: str) -> None:
    assert parse_link(url, BASE) == KibanaLink(url, kind, object_id, space)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        f"https://kibana.example.org{RULE}/r1",  # another host
        f"http://kibana.example.com{RULE}/r1",  # another scheme
        f"https://kibana.example.com:8443{RULE}/r1",  # another port
        f"{BASE}/app/discover#/view/abc",  # a Kibana page, but no rule, case or alert
        f"{BASE}{RULE}/",  # no id
        f"{BASE}{RULE}/r1/edit",  # another page of the rule
        f"{BASE}/s/Not A Space{RULE}/r1",  # not a space id
        f"{BASE}/s/ops/s/dev{RULE}/r1",
        f"{BASE}{RULE}/%0Ar1",  # an id the commands would not take
    ],
)
def test_anything_else_is_no_link_of_the_bots(url: str) -> None:
    assert parse_link(url, BASE) is None


def test_a_kibana_under_a_base_path() -> None:
    base = "https://example.com/kibana/"
    assert parse_link(f"https://example.com/kibana{RULE}/r1", base) == KibanaLink(
        f"https://example.com/kibana{RULE}/r1", "rule", "r1", "default"
    )
    assert parse_link(f"https://example.com{RULE}/r1", base) is None
