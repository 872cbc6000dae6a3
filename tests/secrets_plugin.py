"""A pytest plugin: no configured secret may appear in any log record, in any test.

Every test runs with a handler on the root logger at DEBUG that formats each record *raw*
(bot.logs.RedactingFormatter with no secrets: message, arguments and traceback, exactly as a
misconfigured deployment without redaction would print them). At the end of the test every line
is searched for every secret known to the test:

- the fixed secrets of the suite (the e2e signing secret, Kibana key and webhook token, the fake
  Slack's bot and app tokens);
- every secret of every `Settings` built during the test (`Settings.secret_values`);
- the agent keys (`encoded` and `api_key`) that any fake Kibana handed out during the test;
- people's own API keys (KIBANA_IDENTITY=person) that any fake Kibana accepted during the test, encoded
  and their secret part.

A leak fails that test (an error at teardown naming the logger and the secret) and the session.
Tests that log a secret on purpose, to prove redaction, must format their own `LogRecord` with
`RedactingFormatter(secrets)` instead of emitting it through logging.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.logs import RedactingFormatter
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.state import KibanaState

# The suite's fixed secrets: tests/e2e/conftest.py and devkit/fake_slack defaults.
SUITE_SECRETS = (
    "e2e-signing-secret-0123456789",
    "e2e-kibana-api-key",
    "e2e-webhook-token-abcdef",
    "xoxb-test-token",
    "xapp-test-token",
)
MIN_SECRET_LENGTH = 6  # shorter values ("x", "pw") would match by accident, not leak


@dataclass
class Leak:
    test: str
    logger: str
    level: str
    secret: str
    line: str

    def describe(self) -> str:
        shown = self.secret[:4] + "…"
        return f"{self.test}: {self.level} record of logger {self.logger!r} contains the secret {shown!r}"


class RawCapture(logging.Handler):
    """Keeps every record as the unredacted line it would print (formatted at emit time)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(RedactingFormatter([]))
        self.lines: list[tuple[str, str, str]] = []  # (logger, level, line)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted: keep its raw parts
            line = f"{record.msg!r} {record.args!r}"
        with self._guard:
            self.lines.append((record.name, record.levelname, line))


def find_leaks(test: str, lines: Iterable[tuple[str, str, str]], secrets: Iterable[str]) -> list[Leak]:
    wanted = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    leaks = []
    for logger, level, line in lines:
        for secret in wanted:
            if secret in line:
                leaks.append(Leak(test, logger, level, secret, line))
                break
    return leaks


@dataclass
class Watch:
    """Secrets that came into being during the current test."""

    settings: list[Settings] = field(default_factory=list)
    kibanas: weakref.WeakSet[KibanaState] = field(default_factory=weakref.WeakSet)
    people_keys: set[str] = field(default_factory=set)  # of every FakeKibana of the test, kept past its end
    extra: set[str] = field(default_factory=set)

    def secrets(self) -> set[str]:
        found = set(SUITE_SECRETS) | self.extra
        for settings in self.settings:
            found.update(settings.secret_values)
        for state in list(self.kibanas):
            for key in state.agent_keys:
                found.update(str(key.get(name, "")) for name in ("encoded", "api_key"))
        for encoded in self.people_keys:
            found.add(encoded)
            with contextlib.suppress(ValueError):
                found.add(base64.b64decode(encoded).decode().partition(":")[2])
        return found


class _Recorded(set[str]):
    """A fake Kibana's `people_keys` that also tells the watch of each key it gets."""

    def __init__(self, watch: set[str]) -> None:
        super().__init__()
        self.watch = watch

    def add(self, key: str) -> None:
        super().add(key)
        self.watch.add(key)


WATCH = Watch()
LEAKS: list[Leak] = []


def _wrap_init(cls: type[Any], register: Callable[[Any], None]) -> None:
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        register(self)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    cls.__init__ = __init__


def pytest_configure(config: pytest.Config) -> None:
    _wrap_init(Settings, WATCH.settings.append)
    _wrap_init(KibanaState, WATCH.kibanas.add)
    _wrap_init(FakeKibana, lambda fake: setattr(fake, "people_keys", _Recorded(WATCH.people_keys)))


@pytest.fixture(autouse=True)
def no_secrets_in_logs(request: pytest.FixtureRequest) -> Iterator[Watch]:
    """Capture every log record of the test, raw; fail the test if one holds a secret."""
    capture = RawCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    WATCH.settings.clear()
    WATCH.extra.clear()
    WATCH.people_keys.clear()
    try:
        yield WATCH
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    leaks = find_leaks(request.node.nodeid, capture.lines, WATCH.secrets())
    capture.lines.clear()
    if leaks:
        LEAKS.extend(leaks)
        pytest.fail("secrets in log records:\n" + "\n".join(leak.describe() for leak in leaks), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LEAKS:
        terminalreporter.section("secrets in log records")
        for leak in LEAKS:
            terminalreporter.write_line(leak.describe())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if LEAKS and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
