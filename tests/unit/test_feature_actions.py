"""The catalog is built from what the features contribute: a feature's command is its rows and its
parser, in its own folder; two features cannot claim one name, command word or element; the alert
message's buttons are alerting's write table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.access import Role
from handlers import access, build_catalog
from handlers.alerting import writes
from handlers.alerting.buttons import RuleState, alert_element, rule_elements
from handlers.alerting.target import Target
from handlers.shared.catalog import Action, Actions, Catalog
from handlers.shared.commands import Commands
from handlers.shared.grammar import ActionArgs, Command, UsageError, arity, identifier, parse

PING = Action("ping", "ping <host>", Role.VIEWER, "`ping` hosts", read_only=True, action_ids=("ping_again",))


@dataclass(frozen=True)
class PingArgs:
    host: str


def _ping(words: list[str]) -> Command:
    arity(words, PING.name, 1, 1)
    return Command(PING.name, PingArgs(identifier(words[0], "host", PING.name)))


TOY = Actions(rows=(PING,), parsers={"ping": _ping})


def test_a_features_command_is_its_rows_and_its_parser() -> None:
    catalog = Catalog(TOY)
    assert parse("ping db-1 --space ops", catalog) == Command("ping", PingArgs("db-1"), "ops")
    assert catalog.action("ping") is PING and catalog.by_action_id["ping_again"] is PING
    assert catalog.read_only == {"help", "ping"} and catalog.roles["ping"] is Role.VIEWER
    with pytest.raises(UsageError) as caught:
        parse("pong db-1", catalog)
    assert caught.value.command == "ping" and caught.value.usage == "ping <host>"  # the nearest, from the catalog


def test_an_action_name_in_the_arguments_is_checked_against_the_catalog() -> None:
    catalog = build_catalog()
    with pytest.raises(UsageError) as caught:
        parse("can-i mutee", catalog)
    assert caught.value.message == "`mutee` is not an action I know." and caught.value.usage == catalog.usage["mute"]
    with pytest.raises(UsageError, match="not an action"):
        parse("can-i ping", catalog)
    assert parse("can-i ping", Catalog(access.ACTIONS, TOY)).args == ActionArgs("ping")


@pytest.mark.parametrize(
    ("other", "what"),
    [
        (Actions(rows=(PING,), parsers={"ping2": _ping}), "action 'ping'"),
        (Actions(rows=(), parsers={"ping": _ping}), "command word 'ping'"),
        (Actions(rows=(Action("pong", "pong", Role.VIEWER, "pong", action_ids=("ping_again",)),), parsers={}), "id"),
    ],
)
def test_two_features_cannot_claim_the_same_name_word_or_element(other: Actions, what: str) -> None:
    with pytest.raises(ValueError, match=what):
        Catalog(TOY, other)


def test_every_action_has_a_parser_and_every_parser_an_action() -> None:
    with pytest.raises(ValueError, match="disagree"):
        Catalog(Actions(rows=(PING,), parsers={}))
    catalog = build_catalog()
    assert {name.split(" ")[0] for name in catalog.by_name} == set(catalog.parsers)


def test_every_command_needs_a_route_and_every_route_a_command() -> None:
    @dataclass
    class Bare:
        catalog: Catalog
        services: Any = None

    async def route(_: object) -> None:
        return None

    built_in = {"connect": route, "disconnect": route}  # the built-in rows a feature (access) routes
    Commands(Bare(Catalog(TOY)), {"ping": route, **built_in})
    with pytest.raises(RuntimeError, match=r"without a route: \['ping'\]"):
        Commands(Bare(Catalog(TOY)), built_in)
    with pytest.raises(RuntimeError, match=r"without a command: \['pong'\]"):
        Commands(Bare(Catalog(TOY)), {"ping": route, "pong": route, **built_in})


def _ids(elements: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for e in elements]


def test_a_writes_button_shows_while_it_would_change_something() -> None:
    rule = Target(rule_id="r1", space="ops")
    shown = _ids(rule_elements(rule, "CPU", RuleState()))
    assert shown == ["rule_mute_all", "rule_disable", "rule_snooze"]
    shown = _ids(rule_elements(rule, "CPU", RuleState(muted_all=True, enabled=False, snooze_api=False)))
    assert shown == ["rule_unmute_all", "rule_enable"]
    alert = Target(rule_id="r1", space="ops", alert_id="a1")
    assert alert_element(alert, muted=False)["action_id"] == "alert_mute"
    assert alert_element(alert, muted=True)["action_id"] == "alert_unmute"


def test_every_write_is_a_row_of_the_catalog_with_its_buttons() -> None:
    catalog = build_catalog()
    for write in writes.WRITES:
        assert catalog.action(write.name) is write.action
        assert write.action.action_ids, write.name
        assert write.of_alert == (write.change.alert_muted is not None), write.name


def test_a_feature_made_of_several_modules_keeps_every_kind_of_entry() -> None:
    """Contribution.combined keeps every table and list of every part (a gathering that listed the kinds
    it knew dropped the cases feature's Workflow Builder step and its events once new kinds came)."""
    from dataclasses import fields

    from handlers.shared.feature import Contribution

    async def listener() -> None:
        return None

    async def job() -> None:
        return None

    tables = {f.name: {f"{f.name}-a": listener} for f in fields(Contribution) if f.name not in SEQUENCES}
    first = Contribution(**tables, **{name: (job,) for name in SEQUENCES})  # type: ignore[arg-type]
    second = Contribution(steps={"other": listener}, parts=("scheduler",))
    both = Contribution.combined(first, second)
    for kind in fields(Contribution):
        mine = getattr(first, kind.name)
        assert all(item in getattr(both, kind.name) for item in mine), kind.name
    assert set(both.steps) == {"steps-a", "other"} and both.parts == (job, "scheduler")
    with pytest.raises(ValueError, match="same actions"):
        Contribution.combined(first, Contribution(actions={"actions-a": listener}))


SEQUENCES = ("background", "closers", "renderers", "parts")
