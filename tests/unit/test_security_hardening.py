"""Hardening, unit by unit: the signature timestamp window, redaction of secrets in log lines and
errors (the Kibana client's httpx requests included), request kinds and retry numbers, the audit
message's Block Kit limits, and the log-capture plugin's leak detection."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.kibana.client import KibanaClient
from bot.kibana.errors import KibanaError
from bot.kibana.retry import RetryPolicy
from bot.logs import REDACTED, RedactingFormatter, request_id
from bot.request_context import new_request_id, request_kind, start_request
from bot.server import SIGNATURE_WINDOW, timestamp_problem
from bot.store import AuditEntry
from handlers.access.audit_view import ENTRIES_PER_SECTION, MESSAGE_BLOCK_LIMIT, audit_blocks, audit_line

from ..secrets_plugin import RawCapture, find_leaks

KEY = "c2VjcmV0LWtpYmFuYS1rZXk6eHl6"  # an encoded API key
NOW = 1_700_000_000.0


# ---- the signature window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "missing_timestamp"),
        ("", "missing_timestamp"),
        ("abc", "malformed_timestamp"),
        ("-5", "malformed_timestamp"),
        ("1.7e9", "malformed_timestamp"),
        ("１７００００００００", "malformed_timestamp"),  # full-width digits: str.isdigit says yes
        ("9" * 40, "malformed_timestamp"),
        (str(int(NOW)), None),
        (str(int(NOW) - SIGNATURE_WINDOW), None),
        (str(int(NOW) + SIGNATURE_WINDOW), None),
        (str(int(NOW) - SIGNATURE_WINDOW - 1), "stale_timestamp"),
        (str(int(NOW) + SIGNATURE_WINDOW + 1), "stale_timestamp"),  # the future is no better than the past
        ("0", "stale_timestamp"),
    ],
)
def test_timestamp_window(value: str | None, problem: str | None) -> None:
    assert timestamp_problem(value, NOW) == problem


# ---- redaction ---------------------------------------------------------------------------------------


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    """A record built by hand: the secret never passes through logging (the leak check watches it)."""
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.test", logging.ERROR, __file__, 1, message, args or None, exc_info)


@pytest.mark.parametrize("json_lines", [False, True])
def test_secrets_are_redacted_from_messages_arguments_and_tracebacks(json_lines: bool) -> None:
    formatter = RedactingFormatter([KEY, "xoxb-1-2-3", "tiny"[:3]], json_lines=json_lines)
    try:
        raise RuntimeError(f"Authorization: ApiKey {KEY}")
    except RuntimeError as error:
        line = formatter.format(record("calling with %s and %r", KEY, {"token": "xoxb-1-2-3"}, exc=error))
    assert KEY not in line and "xoxb-1-2-3" not in line
    assert line.count(REDACTED) >= 3
    if json_lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "request_id", "message", "exception"} <= set(entry)
        assert "RuntimeError" in entry["exception"]
    assert "tin" in formatter.format(record("tin can"))  # values under 4 characters are never redacted


def test_json_lines_carry_the_request_id() -> None:
    formatter = RedactingFormatter([], json_lines=True)
    assert json.loads(formatter.format(record("outside a request")))["request_id"] == "-"
    token = start_request()
    try:
        current = request_id.get()
        entry = json.loads(formatter.format(record("inside")))
    finally:
        request_id.reset(token)
    assert entry["request_id"] == current and len(current) == 8 and current != "-"
    assert request_id.get() == "-"
    assert len({new_request_id() for _ in range(50)}) == 50


async def test_kibana_errors_and_reprs_never_carry_the_credentials() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"ApiKey {KEY}"
        if request.url.path.endswith("/_health"):
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(401, json={"statusCode": 401, "error": "Unauthorized", "message": "bad key"})

    client = KibanaClient(
        base_url="http://kibana.test:5601",
        api_key=KEY,
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(attempts=1),
    )
    try:
        seen: list[str] = [repr(client)]
        for call in (client.health(), client.get_rule("r1")):
            with pytest.raises(KibanaError) as caught:
                await call
            error = caught.value
            seen += [str(error), repr(error), "".join(traceback.format_exception(error))]
            seen += [repr(a) for a in error.args]
            assert error.__cause__ is None and error.__suppress_context__
    finally:
        await client.aclose()
    text = "\n".join(seen)
    assert "could not connect" in text and "401" in text
    assert KEY not in text
    request = httpx.Request("GET", "http://kibana.test", headers={"Authorization": f"ApiKey {KEY}"})
    assert KEY not in repr(request) and KEY not in str(request)


# ---- request kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"command": "/kibana", "text": "help"}, "slash_command"),
        ({"type": "block_actions"}, "block_actions"),
        ({"type": "view_submission"}, "view_submission"),
        ({"type": "message_action"}, "message_action"),
        ({"type": "event_callback", "event": {}}, "event_callback"),
        ({"type": "something new"}, "other"),  # the label set stays closed
        ({"ssl_check": "1"}, "ssl_check"),
    ],
)
def test_request_kinds_for_metrics(body: dict[str, object], kind: str) -> None:
    assert request_kind(body) == kind


# ---- the audit message ---------------------------------------------------------------------------------


def entry(n: int, **changes: object) -> AuditEntry:
    values: dict[str, object] = {
        "user_id": "U0ALICE",
        "user_name": "alice",
        "team": "T1",
        "channel": "C0ALERTS",
        "action": "mute",
        "target": f"r{n}/host-1",
        "space": "default",
        "result": "ok",
        "at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC) - timedelta(minutes=n),
    }
    values.update(changes)
    return AuditEntry(**values)  # type: ignore[arg-type]


def test_audit_blocks_stay_within_slack_limits() -> None:
    entries = [entry(n, target="x" * 400) for n in range(100)]
    blocks = audit_blocks(entries, title="Audit trail")
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert all(len(text.split("\n")) <= ENTRIES_PER_SECTION for text in sections)
    assert sum(len(text.split("\n")) for text in sections) == 100
    assert len(sections) >= 100 // ENTRIES_PER_SECTION


def test_an_audit_line_escapes_what_users_typed() -> None:
    line = audit_line(entry(1, action="case", target="<!channel> & <@U1>", result="refused"))
    assert "<!channel>" not in line and "&lt;!channel&gt; &amp; &lt;@U1&gt;" in line
    assert line.startswith("2024-05-01 11:59:00 UTC · <@U0ALICE> in <#C0ALERTS> · *case*")
    assert line.endswith(":no_entry: refused · Kibana not called")
    assert audit_line(entry(2, result="error", kibana_status=503)).endswith(":x: error · Kibana 503")


# ---- the log-capture plugin ------------------------------------------------------------------------------


def test_the_leak_check_finds_secrets_in_raw_records() -> None:
    capture = RawCapture()
    logger = logging.getLogger("tests.leak_check_self_test")
    logger.propagate = False  # kept away from the suite-wide capture: this record holds a fake secret
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("sending %s", {"Authorization": "Bearer not-a-real-secret-123"})
        logger.info("nothing to see")
        try:
            raise ValueError("boom not-a-real-secret-123")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(capture)
        logger.propagate = True
    leaks = find_leaks("self-test", capture.lines, ["not-a-real-secret-123", "abc"])
    assert [(leak.logger, leak.level) for leak in leaks] == [
        ("tests.leak_check_self_test", "DEBUG"),
        ("tests.leak_check_self_test", "ERROR"),
    ]
    assert "not-" in leaks[0].describe() and "secret-123" not in leaks[0].describe()
    assert find_leaks("self-test", capture.lines, ["abc"]) == []  # too short to count


def test_the_leak_check_is_active_in_this_run(request: pytest.FixtureRequest) -> None:
    assert "no_secrets_in_logs" in request.fixturenames
    assert any(isinstance(h, RawCapture) for h in logging.getLogger().handlers)
    assert sys.modules.get("bot.settings") is not None


def test_the_basic_auth_header_value_is_a_secret_too() -> None:
    import base64

    from bot.settings import load_settings

    settings = load_settings(
        slack_bot_token="xoxb-1", kibana_username="elastic", kibana_password="changeme-123", _env_file=None
    )
    header_value = base64.b64encode(b"elastic:changeme-123").decode()
    assert "changeme-123" in settings.secret_values
    assert header_value in settings.secret_values
