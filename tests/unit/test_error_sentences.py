"""Every failure becomes a sentence that says what happened and what to do."""

from __future__ import annotations

import logging

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.kibana.errors import (
    KibanaBadRequest,
    KibanaConflict,
    KibanaError,
    KibanaForbidden,
    KibanaNotFound,
    KibanaPayloadTooLarge,
    KibanaRateLimited,
    KibanaRouteNotFound,
    KibanaServerError,
    KibanaTimeout,
    KibanaUnauthorized,
    KibanaUnavailable,
    error_from_response,
)
from handlers import build_catalog
from handlers.shared.errors import Doing, describe
from handlers.shared.grammar import UsageError

EXPLAIN = build_catalog().explain  # the features' sentences, as the bot has them


def _never_sent(error: KibanaUnavailable) -> KibanaUnavailable:
    error.request_sent = False
    return error


MUTE = Doing(command="/kibana", explain=EXPLAIN, action="mute", space="ops", rule_id="r1", alert_id="a1")


@pytest.mark.parametrize(
    ("error", "doing", "expected"),
    [
        (
            KibanaNotFound("Saved object [alert/r1] not found", path="/s/ops/api/alerting/rule/r1/_enable"),
            Doing(command="/kibana", explain=EXPLAIN, action="enable", space="ops", rule_id="r1"),
            "Rule `r1` was not found in space `ops`. Check the id with `/kibana rules`",
        ),
        (
            KibanaNotFound(
                'Alert instance with id "a1" does not exist for rule with id "r1"',
                path="/s/ops/api/alerting/rule/r1/alert/a1/_mute",
            ),
            MUTE,
            "Kibana has no alert `a1` of rule `r1` in space `ops`, so it was not muted",
        ),
        (KibanaUnauthorized("Unauthorized"), MUTE, "Kibana rejected the bot's credentials (401). Nothing was changed"),
        (
            KibanaForbidden('Unauthorized by "alerts" to muteAlert ".index-threshold" rule'),
            MUTE,
            'Kibana refused `/kibana mute` (403): Unauthorized by "alerts" to muteAlert ".index-threshold" rule.',
        ),
        (
            KibanaTimeout("timed out"),
            MUTE,
            "it is not known whether `/kibana mute` happened. Check with `/kibana rule r1`",
        ),
        (
            _never_sent(KibanaUnavailable("refused")),
            MUTE,
            "Kibana could not be reached, so `/kibana mute` did not happen. Nothing was changed",
        ),
        (
            KibanaUnavailable("Service Unavailable", status_code=503),
            MUTE,
            "Kibana could not be reached (503), so `/kibana mute` did not happen.",
        ),
        (
            KibanaTimeout("timed out"),
            Doing(command="/kibana", explain=EXPLAIN, action="rules", read_only=True),
            "did not answer in time, so `/kibana rules` did not happen",
        ),
        (KibanaRateLimited("Too Many Requests"), MUTE, "rate-limiting the bot"),
        (KibanaPayloadTooLarge("Payload content length greater than maximum allowed: 1048576"), MUTE, "larger than"),
        (KibanaConflict("These cases c1 have been updated."), MUTE, "Someone else changed it"),
        (
            KibanaBadRequest("[request body.untrack]: expected value of type [boolean]"),
            MUTE,
            "Kibana refused `/kibana mute`",
        ),
        (KibanaServerError("boom", status_code=500), MUTE, "internal error (500)"),
        (
            UsageError("Something is missing.", "mute", "mute <rule_id> <alert_id>"),
            MUTE,
            "Usage: `/kibana mute <rule_id> <alert_id>`",
        ),
    ],
)
def test_sentences(error: Exception, doing: Doing, expected: str) -> None:
    assert expected in describe(error, doing)


def test_slack_errors_say_what_to_do() -> None:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="u",
        req_args={},  # type: ignore[arg-type]
        data={"ok": False, "error": "not_in_channel"},
        headers={},
        status_code=200,
    )
    text = describe(SlackApiError("not_in_channel", response), Doing(command="/kibana", explain=EXPLAIN))
    assert "`not_in_channel`" in text and "/invite" in text


def test_a_missing_scope_is_named_with_what_to_do() -> None:
    data = {"ok": False, "error": "missing_scope", "needed": "files:read", "provided": "commands,chat:write"}
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="u",
        req_args={},  # type: ignore[arg-type]
        data=data,
        headers={},
        status_code=200,
    )
    text = describe(SlackApiError("missing_scope", response), Doing(command="/kibana", explain=EXPLAIN))
    assert text == (
        "Slack refused the bot's request: the Slack app lacks the scope `files:read`; an admin of the Slack app "
        "adds it by reinstalling the app with the bot's manifest.json."
    )


def test_unexpected_errors_get_a_reference_that_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        text = describe(RuntimeError("kaboom"), MUTE)
    reference = text.split("reference `")[1].split("`")[0]
    assert "kaboom" not in text and "Traceback" not in text
    assert any(reference in record.getMessage() and record.exc_info for record in caplog.records)


def _from_kibana(status: int, body: bytes, method: str, path: str) -> KibanaError:
    return error_from_response(status, body, reason="", method=method, path=path, space="default")


BARE_404 = b'{"statusCode":404,"error":"Not Found","message":"Not Found"}'
NO_RULE = b'{"statusCode":404,"error":"Not Found","message":"Saved object [alert/r1] not found"}'
SNOOZE = Doing(
    command="/kibana", explain=EXPLAIN, action="snooze", space="default", rule_id="r1", kibana_version="9.0.0"
)


def test_a_missing_snooze_route_is_told_apart_from_a_missing_rule() -> None:
    route = _from_kibana(404, BARE_404, "POST", "/api/alerting/rule/r1/snooze_schedule")
    rule = _from_kibana(404, NO_RULE, "POST", "/api/alerting/rule/r1/snooze_schedule")
    assert isinstance(route, KibanaRouteNotFound) and not isinstance(rule, KibanaRouteNotFound)
    assert describe(route, SNOOZE) == (
        "This Kibana (9.0.0) has no snooze API (Kibana has it from 8.19 on 8.x and from 9.1 on 9.x), so nothing "
        "was snoozed. Instead, mute all its alerts (`/kibana mute-all r1`) or disable the rule (`/kibana disable r1`)."
    )
    assert describe(rule, SNOOZE).startswith("Rule `r1` was not found in space `default`")


def test_agent_keys_refused_to_an_api_key_name_the_settings() -> None:
    message = b'"creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"'
    error = _from_kibana(
        400, b'{"statusCode":400,"error":"Bad Request","message":' + message + b"}", "POST", "/api/apm/agent_keys"
    )
    text = describe(error, Doing(command="/kibana", explain=EXPLAIN, action="apm-key-create"))
    assert "KIBANA_AGENT_KEY_USERNAME" in text and "KIBANA_AGENT_KEY_PASSWORD" in text and "derived" not in text


def test_required_custom_fields_are_named() -> None:
    body = b'{"statusCode":400,"error":"Bad Request","message":"Missing required custom fields without default value configured: \\"Team\\", \\"Ticket id\\""}'  # noqa: E501
    text = describe(
        _from_kibana(400, body, "POST", "/api/cases"), Doing(command="/kibana", explain=EXPLAIN, action="case")
    )
    assert "require custom fields (`Team`, `Ticket id`)" in text


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [(501, b'{"statusCode":501,"error":"Not Implemented","message":"Not Implemented"}', "switched off"),
     (404, BARE_404, "no such route")],
)  # fmt: skip
def test_a_missing_source_map_api_is_explained(status: int, body: bytes, why: str) -> None:
    text = describe(
        _from_kibana(status, body, "GET", "/api/apm/sourcemaps"),
        Doing(command="/kibana", explain=EXPLAIN, action="apm-sourcemaps"),
    )
    assert text.startswith("The APM source-map API is not available on this Kibana") and why in text
