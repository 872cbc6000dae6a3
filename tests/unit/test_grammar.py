"""The `/kibana` command grammar: every command, every usage error, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import build_catalog
from handlers.access.actions import AuditArgs
from handlers.alerting.actions import (
    AlertArgs,
    DisableArgs,
    MuteAllArgs,
    RuleArgs,
    SearchArgs,
    SnoozeArgs,
    UnsnoozeArgs,
    snooze_duration,
)
from handlers.apm.actions import AgentKeyArgs, ConfigSetArgs, ServiceArgs, SourceMapArgs
from handlers.cases.actions import CaseArgs
from handlers.health.actions import SubscribeArgs, UnsubscribeArgs
from handlers.shared.grammar import MAX_TEXT, ActionArgs, Command, HelpArgs, UsageError
from handlers.shared.grammar import parse as parse_with

CATALOG = build_catalog()
USAGE = CATALOG.usage


def parse(text: str) -> Command:
    return parse_with(text, CATALOG)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help", HelpArgs())),
        ("help", Command("help", HelpArgs())),
        ("health", Command("health")),
        ("health --space ops", Command("health", space="ops")),
        (
            'health subscribe "*/15 * * * *" --on-change',
            Command("health subscribe", SubscribeArgs("*/15 * * * *", True)),
        ),
        (
            "health subscribe daily 09:00 Europe/Paris",
            Command("health subscribe", SubscribeArgs("daily 09:00 Europe/Paris", False)),
        ),
        ("health unsubscribe", Command("health unsubscribe", UnsubscribeArgs("all"))),
        ("health unsubscribe 12", Command("health unsubscribe", UnsubscribeArgs(12))),
        ("health subscriptions", Command("health subscriptions")),
        ("rules", Command("rules", SearchArgs(""))),
        ("rules cpu high", Command("rules", SearchArgs("cpu high"))),
        ("rule abc-123", Command("rule", RuleArgs("abc-123"))),
        ("mute r1 host-1", Command("mute", AlertArgs("r1", "host-1"))),
        ('unmute r1 "host a,b"', Command("unmute", AlertArgs("r1", "host a,b"))),
        ("mute-all r1", Command("mute-all", MuteAllArgs("r1"))),
        ("mute-all r1 for 2h", Command("mute-all", MuteAllArgs("r1", "for:2h"))),
        ("mute r1 a1 for 30m", Command("mute", AlertArgs("r1", "a1", "for:30m"))),
        ("mute r1 a1 for 1w", Command("mute", AlertArgs("r1", "a1", "for:7d"))),
        ("mute r1 a1 until 9:00", Command("mute", AlertArgs("r1", "a1", "at:09:00"))),
        ("mute r1 a1 until tomorrow 09:30", Command("mute", AlertArgs("r1", "a1", "tomorrow:09:30"))),
        ("mute r1 a1 until 2026-12-07T09:00", Command("mute", AlertArgs("r1", "a1", "iso:2026-12-07T09:00"))),
        ("unmute-all r1 --space=ops", Command("unmute-all", RuleArgs("r1"), "ops")),
        ("disable r1", Command("disable", DisableArgs("r1", False))),
        ("disable --untrack r1", Command("disable", DisableArgs("r1", True))),
        ("enable r1", Command("enable", RuleArgs("r1"))),
        ("snooze r1 4h", Command("snooze", SnoozeArgs("r1", "4h"))),
        ("snooze r1 2w", Command("snooze", SnoozeArgs("r1", "14d"))),
        ("unsnooze r1", Command("unsnooze", UnsnoozeArgs("r1"))),
        ("unsnooze r1 s-1", Command("unsnooze", UnsnoozeArgs("r1", "s-1"))),
        ("case", Command("case", CaseArgs(""))),
        ("case Disk full on db-1", Command("case", CaseArgs("Disk full on db-1"))),
        ("apm config list", Command("apm config list", ServiceArgs(None))),
        ("apm config list checkout", Command("apm config list", ServiceArgs("checkout"))),
        (
            "apm config set checkout production transaction_sample_rate=0.5 --overwrite",
            Command(
                "apm config set", ConfigSetArgs("checkout", "production", {"transaction_sample_rate": "0.5"}, True)
            ),
        ),
        (
            "apm config set checkout capture_body=all log_level=debug",
            Command("apm config set", ConfigSetArgs("checkout", None, {"capture_body": "all", "log_level": "debug"})),
        ),
        (
            "apm key create ci-key event:write,config_agent:read",
            Command("apm key create", AgentKeyArgs("ci-key", ("event:write", "config_agent:read"))),
        ),
        ("apm sourcemaps", Command("apm sourcemaps list")),
        ("apm sourcemaps list", Command("apm sourcemaps list")),
        ("apm sourcemaps upload", Command("apm sourcemaps upload")),
        ("apm sourcemaps delete apm:x-1", Command("apm sourcemaps delete", SourceMapArgs("apm:x-1"))),
        ("whoami", Command("whoami")),
        ("can-i disable", Command("can-i", ActionArgs("disable"))),
        ("can-i apm key create", Command("can-i", ActionArgs("apm key create"))),
        ("audit", Command("audit", AuditArgs(None, 20))),
        ("audit rule r1 last 5", Command("audit", AuditArgs("r1", 5))),
        ("MUTE r1 a1", Command("mute", AlertArgs("r1", "a1"))),
        ("mute “r1” ‘a b’", Command("mute", AlertArgs("r1", "a b"))),
    ],
)
def test_parses(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "command", "fragment"),
    [
        ("mutee r1 a1", "mute", "Did you mean `mute`"),
        ("frobnicate", None, "I don't know the command `frobnicate`"),
        ("mute r1", "mute", "Something is missing"),
        ("mute r1 a1 extra", "mute", "Say when the mute ends"),
        ("mute r1 a1 for 2h extra words here", "mute", "Too many words"),
        ("mute r1 a1 until tomorrow 25:00", "mute", "is not a time of day"),
        ("mute r1 a1 until yesterday", "mute", "is not a time"),
        ("mute-all r1 until", "mute-all", "Say when the mute ends"),
        ("rule", "rule", "Something is missing"),
        ("rule bad/id", "rule", "not a valid rule id"),
        ("disable r1 --force", "disable", "no option `--force`"),
        ("snooze r1 forever", "snooze", "not a duration"),
        ("snooze r1 0m", "snooze", "between 1 minute and 365 days"),
        ("snooze r1 400d", "snooze", "between 1 minute and 365 days"),
        ("health subscribe", "health subscribe", "Say when"),
        ("health unsubscribe x1", "health unsubscribe", "not a subscription id"),
        ("health nope", "health", "no subcommand"),
        ("apm config set checkout", "apm config set", "at least one setting"),
        ("apm config set checkout =1", "apm config set", "no key before"),
        ("apm config set checkout a=", "apm config set", "no value after"),
        ("apm config set a=1", "apm config set", "Name the service"),
        ("apm config set svc env a=1 stray", "apm config set", "not a key=value"),
        ("apm key create k1 event:read", "apm key create", "not a list of agent key privileges"),
        ("apm key create k1", "apm key create", "Something is missing"),
        ("apm sourcemaps delete", "apm sourcemaps delete", "Something is missing"),
        ("apm", "apm config list", "Which APM command"),
        ("can-i fly", "can-i", "not an action"),
        ("audit last 1000", "audit", "1 to 100"),
        ("--space", None, "needs a space id"),
        ("health --space OPS", None, "not a Kibana space id"),
        ("health --space a --space b", None, "twice"),
        ('mute "r1 a1', None, "quote is not closed"),
        ("case " + "x" * 161, "case", "at most 160"),
    ],
)
def test_usage_errors(text: str, command: str | None, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert fragment in caught.value.message
    assert caught.value.command == command
    if command:
        assert caught.value.usage == USAGE[command]


def test_oversized_text_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="limit is 2000"):
        parse("rules " + "x" * MAX_TEXT)


def test_every_usage_entry_parses_from_its_own_example() -> None:
    # The usage line of every command, with placeholders filled in, is accepted.
    fills = {
        "<rule_id>": "r1",
        "<alert_id>": "a1",
        "<duration>": "4h",
        "<schedule_id>": "s1",
        "<title>": "t",
        "<service>": "svc",
        "<environment>": "prod",
        "key=value…": "k=v",
        "<name>": "n1",
        "<privilege>[,<privilege>]": "event:write",
        "<id>": "x1",
        "<action>": "mute",
        "<words>": "cpu",
        "<n>": "3",
    }
    for action, usage in USAGE.items():
        line = usage.split("   ")[0]
        if action == "health subscribe":
            line = "health subscribe every 15m"
        elif action == "health unsubscribe":
            line = "health unsubscribe 3"
        elif action == "alerts subscribe":
            line = "alerts subscribe --all"
        elif action == "alerts unsubscribe":
            line = "alerts unsubscribe 3"
        elif action == "apm sourcemaps list":
            line = "apm sourcemaps list"
        elif action == "mw start":
            line = 'mw start 2h --title "Deploy api" --tag web --tag db'
        for placeholder, value in fills.items():
            line = line.replace(placeholder, value)
        line = line.replace("[", "").replace("]", "").replace("|all", "")
        line = line.replace(" | until <time>", "")  # mute, mute-all: `for 4h` (or `until …`, parsed above)
        assert parse(line).action == action, line


def test_durations() -> None:
    assert snooze_duration("30m") == "30m"
    assert snooze_duration("1H") == "1h"
    assert snooze_duration("3w") == "21d"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_no_input_raises_anything_but_a_usage_error(text: str) -> None:
    try:
        command = parse(text)
    except UsageError as error:
        assert error.message
    else:
        assert command.action in USAGE


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "mute",
                "rule",
                "health",
                "apm",
                "config",
                "set",
                "--space",
                "ops",
                "a=1",
                "=",
                "--untrack",
                "sourcemaps",
                "delete",
                "key",
                "create",
                "last",
                "5",
                '"',
                "subscribe",
                "every",
                "x",
            ]
        ),
        max_size=8,
    )
)
def test_no_word_soup_raises_anything_but_a_usage_error(words: list[str]) -> None:
    try:
        command = parse(" ".join(words))
    except UsageError as error:
        assert error.message and (error.command is None or error.command in USAGE)
    else:
        assert command.action in USAGE
