"""A space id and a rule id have one definition (bot/identifiers.py): every place that reads one
from outside the bot accepts exactly what it accepts. The settings, the Kibana client's paths,
the command's `--space` and rule ids, ALERTS_SUBSCRIPTION, the webhook body and a button's value."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.alert_filters import AlertFilterError, parse_alert_filter, parse_setting
from bot.identifiers import is_rule_id, is_space_id
from bot.kibana.connection import space_prefix
from bot.kibana.errors import KibanaInvalidInput
from bot.settings import ConfigError, load_settings
from handlers import build_catalog
from handlers.alerting.target import Target
from handlers.alerts.webhook import BadDelivery, parse_delivery
from handlers.shared.grammar import UsageError
from handlers.shared.grammar import parse as parse_with

ROOT = Path(__file__).resolve().parents[2]
SPACES = ["default", "ops", "team_a-1", "0", "a" * 100, "a" * 101, "Ops", "", "a b", "ops/x", "ops.x", "é"]
RULES = ["r1", "9f3c2e1a-77b0-11ee-b962-0242ac120002", "a.b:c_d-e", "a" * 255, "a" * 256, "-r", "_r", "r 1", "r/1"]
CATALOG = build_catalog()
DELIVERY = {"rule_id": "r1", "alert_id": "a1", "alert_uuid": "u1", "action_group": "default", "space_id": "ops"}


def parse(text: str) -> object:
    return parse_with(text, CATALOG)


def accepts(read: Callable[[], object], refusal: type[Exception]) -> bool:
    try:
        read()
    except refusal:
        return False
    return True


def configured(**values: str) -> object:
    return load_settings(slack_bot_token="xoxb-test", _env_file=None, **values)


def delivered(**fields: str) -> object:
    return parse_delivery(json.dumps({**DELIVERY, **fields}).encode(), default_channel="C1")


@pytest.mark.parametrize("space", SPACES)
def test_every_reader_of_a_space_id_agrees(space: str) -> None:
    expected = is_space_id(space)
    quoted = shlex.quote(space)
    readers: dict[str, tuple[Callable[[], object], type[Exception]]] = {
        "KIBANA_SPACE": (lambda: configured(kibana_space=space), ConfigError),
        "the client's path": (lambda: space_prefix(space), KibanaInvalidInput),
        "--space": (lambda: parse(f"health --space {quoted}"), UsageError),
        "ALERTS_SUBSCRIPTION": (lambda: parse_setting(f"--all --space {quoted}", "default"), AlertFilterError),
        "a button's value": (lambda: Target.model_validate({"r": "r1", "s": space}), ValidationError),
    }
    if space:  # the webhook reads an empty space_id as the default space
        readers["the webhook body"] = (lambda: delivered(space_id=space), BadDelivery)
    assert {name: accepts(*reader) for name, reader in readers.items()} == dict.fromkeys(readers, expected)


@pytest.mark.parametrize("rule", RULES)
def test_every_reader_of_a_rule_id_agrees(rule: str) -> None:
    expected = is_rule_id(rule)
    readers: dict[str, tuple[Callable[[], object], type[Exception]]] = {
        "rule <id>": (lambda: parse(f"rule {shlex.quote(rule)}"), UsageError),
        "--rule": (lambda: parse_alert_filter(["--rule", rule]), AlertFilterError),
        "the webhook body": (lambda: delivered(rule_id=rule), BadDelivery),
        "a button's value": (lambda: Target.model_validate({"r": rule, "s": "ops"}), ValidationError),
    }
    assert {name: accepts(*reader) for name, reader in readers.items()} == dict.fromkeys(readers, expected)


def test_the_settings_read_identifiers_without_loading_the_kibana_client() -> None:
    probe = "import sys, bot.settings\nprint('bot.kibana' in sys.modules, 'aiohttp' in sys.modules)\n"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False"]
