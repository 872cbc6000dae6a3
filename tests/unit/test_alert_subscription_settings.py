"""ALERTS_SUBSCRIPTION_CHANNEL / ALERTS_SUBSCRIPTION / ALERTS_POLL_INTERVAL, checked as the settings load."""

from __future__ import annotations

import pytest

from bot.alert_filters import AlertFilter, AlertFilterError, parse_alert_filter, parse_setting
from bot.settings import ConfigError, Settings, load_settings
from handlers.alerts.subscriptions import describe_filter

ES = "http://127.0.0.1:9200"


def settings(**values: object) -> Settings:
    return load_settings(slack_bot_token="xoxb-test", _env_file=None, **values)


def test_the_configured_subscription_is_parsed_like_the_command() -> None:
    loaded = settings(
        elasticsearch_url=ES, alerts_subscription_channel="C0ALERTS", alerts_subscription="--tag 'prod eu' --space ops"
    )
    assert loaded.configured_alert_subscription == ("C0ALERTS", "ops", "tag", "prod eu")
    assert settings(
        elasticsearch_url=ES, alerts_subscription_channel="C1", alerts_subscription="--rule=r-1", kibana_space="sec"
    ).configured_alert_subscription == ("C1", "sec", "rule", "r-1")
    assert settings().configured_alert_subscription is None
    assert settings().alerts_poll_interval == 5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alerts_subscription": "--all"}, "ALERTS_SUBSCRIPTION_CHANNEL: expected to be set together"),
        ({"alerts_subscription_channel": "C1"}, "ALERTS_SUBSCRIPTION: expected to be set together"),
        (
            {"alerts_subscription_channel": "C1", "alerts_subscription": "--every", "elasticsearch_url": ES},
            "ALERTS_SUBSCRIPTION: expected --all, --rule <id> or --tag <tag>, optionally with --space <id> (`--every`",
        ),
        (
            {"alerts_subscription_channel": "C1", "alerts_subscription": "--all"},
            "ELASTICSEARCH_URL: expected the Elasticsearch URL alert subscriptions read .alerts-* from",
        ),
        ({"alerts_poll_interval": "0"}, "ALERTS_POLL_INTERVAL: expected seconds, between 1 and 3600"),
        ({"alerts_page_size": "20000"}, "ALERTS_PAGE_SIZE: expected alert documents per search, 10-10000"),
    ],
)
def test_bad_values_name_the_setting(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**values)
    assert str(raised.value).startswith(message), str(raised.value)


def test_the_filter_grammar() -> None:
    assert parse_alert_filter(["--all"]) == AlertFilter("all")
    assert describe_filter(parse_alert_filter(["--tag", "prod"])) == "rules tagged `prod`"
    assert parse_alert_filter(["--rule=abc"]).words() == "--rule abc"
    assert parse_setting("--all --space=ops", "default") == (AlertFilter("all"), "ops")
    for words, problem in [
        ([], "Say which alerts"),
        (["--rule"], "`--rule` needs a value"),
        (["--tag", "a", "--all"], "not several"),
        (["prod"], "is not expected here"),
        (["--rule", "a/b"], "is not a Kibana rule id"),
    ]:
        with pytest.raises(AlertFilterError, match=problem):
            parse_alert_filter(words)
