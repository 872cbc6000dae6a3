"""Grants that name Kibana spaces: parsing `spaces` and `default_spaces`, and which grants count for an
action in a space, for one in no space (APM) and for the bot's own answers."""

from __future__ import annotations

import re

import pytest

from bot.access import AccessControl, Grant, PolicyError, Refusal, Role, Scope, parse_policy
from handlers import build_catalog

CATALOG = build_catalog()
action = CATALOG.action

POLICY = """\
default_role = "viewer"
default_spaces = ["default", "ops"]

[[grants]]
role = "operator"
users = ["U0OPS0001"]
spaces = ["ops"]

[[grants]]
role = "responder"
groups = ["S0DEV0001"]
spaces = ["dev", "default"]
channels = ["C0DEV0001"]

[[grants]]
role = "admin"
users = ["U0ADMIN01"]
"""


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


async def dev_group(group_id: str) -> frozenset[str]:
    return frozenset({"U0DEV0001"}) if group_id == "S0DEV0001" else frozenset()


def control(text: str = POLICY) -> AccessControl:
    return AccessControl(parse_policy(text, source="policy.toml"), dev_group)


def test_spaces_parse_with_the_grant_and_the_default() -> None:
    policy = parse_policy(POLICY, source="policy.toml")
    assert policy.default_spaces == frozenset({"default", "ops"})
    assert policy.grants[0] == Grant(
        Role.OPERATOR, frozenset({"U0OPS0001"}), frozenset(), None, 4, spaces=frozenset({"ops"})
    )
    assert policy.grants[1].spaces == frozenset({"dev", "default"})
    assert policy.grants[2].spaces is None  # no key: every space
    assert policy.spaces == frozenset({"default", "ops", "dev"})


def test_a_policy_without_spaces_names_none() -> None:
    policy = parse_policy('default_role = "viewer"\n[[grants]]\nrole = "admin"\nusers = ["U0ADMIN01"]\n')
    assert policy.default_spaces is None and policy.grants[0].spaces is None
    assert policy.spaces == frozenset()


MALFORMED = [
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nspaces = "ops"\n', 4, "spaces must be a list", id="str"
    ),
    pytest.param('[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nspaces = []\n', 4, "spaces is empty", id="empty"),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nspaces = ["Ops"]\n',
        4,
        "spaces: 'Ops' is not a Kibana space id",
        id="upper case",
    ),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nspaces = [1]\n', 4, "list of strings (space ids", id="int"
    ),
    pytest.param('default_spaces = ["ops", "s p"]\n', 1, "default_spaces: 's p' is not a Kibana space id", id="bad"),
    pytest.param('default_role = "viewer"\ndefault_spaces = []\n', 2, "default_spaces is empty", id="default empty"),
    pytest.param('default_space = ["ops"]\n', 1, "unknown key `default_space`", id="typo"),
]


@pytest.mark.parametrize(("text", "line", "words"), MALFORMED)
def test_malformed_spaces_name_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="policy.toml")
    message = str(raised.value)
    assert re.match(rf"policy\.toml, line {line}\b", message), message
    assert words in message


async def test_a_space_grant_holds_only_in_its_spaces() -> None:
    access = control()
    ops = await access.role_of("U0OPS0001", "C0GENERAL", "ops")
    assert ops.role is Role.OPERATOR
    assert ops.reasons == [
        "default_role viewer in spaces default, ops",
        "grant operator (policy.toml line 4) via user U0OPS0001 in spaces ops",
    ]
    assert (await access.role_of("U0OPS0001", "C0GENERAL", "default")).role is Role.VIEWER
    assert await access.check("U0OPS0001", "C0GENERAL", action("alerts subscribe"), "ops") is None
    refusal = await access.check("U0OPS0001", "C0GENERAL", action("alerts subscribe"), "default")
    assert refusal == Refusal("alerts subscribe", Role.OPERATOR, Role.VIEWER)
    assert refusal is not None and refusal.where == "default"


async def test_the_default_role_holds_only_in_default_spaces() -> None:
    access = control()
    assert (await access.role_of("U0NOBODY1", None, "ops")).role is Role.VIEWER
    prod = await access.role_of("U0NOBODY1", None, "prod")
    assert prod.role is Role.NONE
    assert prod.reasons == ["default_role viewer holds only in spaces default, ops"]
    refusal = await access.check("U0NOBODY1", None, action("rules"), "prod")
    assert refusal is not None
    assert refusal.message() == (
        "You need the *viewer* role in Kibana space `prod` to find `rules`; you have no role there. "
        "Ask an admin of this bot to grant it in the access policy (ACCESS_POLICY)."
    )


async def test_a_grant_without_spaces_holds_in_every_space() -> None:
    access = control()
    for space in ("default", "ops", "prod"):
        assert (await access.role_of("U0ADMIN01", None, space)).role is Role.ADMIN
    assert await access.check("U0ADMIN01", None, action("apm key create"), "ops") is None


async def test_channels_and_spaces_both_limit_a_grant() -> None:
    access = control()
    assert (await access.role_of("U0DEV0001", "C0DEV0001", "dev")).role is Role.RESPONDER
    assert (await access.role_of("U0DEV0001", "C0GENERAL", "dev")).role is Role.NONE  # not this channel
    assert (await access.role_of("U0DEV0001", "C0DEV0001", "ops")).role is Role.VIEWER  # not this space


async def test_apm_needs_a_grant_for_every_space() -> None:
    """APM settings, agent keys and source maps are Kibana-wide: a grant limited to spaces does not give
    them, whichever --space the command names."""
    text = 'default_role = "viewer"\n[[grants]]\nrole = "admin"\nusers = ["U0SPACE01"]\nspaces = ["ops"]\n'
    access = control(text)
    assert action("apm config set").scope is Scope.DEPLOYMENT
    refusal = await access.check("U0SPACE01", None, action("apm config set"), "ops")
    assert refusal == Refusal("apm config set", Role.ADMIN, Role.VIEWER)
    assert refusal is not None and "in every Kibana space" in refusal.message()
    assert await access.check("U0SPACE01", None, action("disable"), "ops") is None


async def test_the_bots_own_answers_count_a_grant_in_any_space() -> None:
    text = 'default_role = "none"\n[[grants]]\nrole = "operator"\nusers = ["U0SPACE01"]\nspaces = ["ops"]\n'
    access = control(text)
    for name in ("whoami", "can-i", "help", "alerts subscriptions", "health unsubscribe", "audit"):
        assert action(name).scope is Scope.BOT
        assert await access.check("U0SPACE01", None, action(name), "default") is None, name
    refusal = await access.check("U0SPACE01", None, action("health"), "default")
    assert refusal == Refusal("health", Role.VIEWER, Role.NONE)


async def test_spaces_with_a_role() -> None:
    access = control()
    assert await access.spaces_with("U0OPS0001", None, Role.OPERATOR) == frozenset({"ops"})
    assert await access.spaces_with("U0NOBODY1", None, Role.VIEWER) == frozenset({"default", "ops"})
    assert await access.spaces_with("U0ADMIN01", None, Role.OPERATOR) is None  # every space
    assert await access.spaces_with("U0NOBODY1", None, Role.OPERATOR) == frozenset()


async def test_without_spaces_in_the_policy_refusals_read_as_before() -> None:
    access = AccessControl(parse_policy('default_role = "viewer"'), no_groups)
    refusal = await access.check("U0NOBODY1", None, action("mute"), "ops")
    assert refusal is not None and refusal.where is None
    assert refusal.message() == (
        "You need the *responder* role to `mute` alerts; you are *viewer*. "
        "Ask an admin of this bot to grant it in the access policy (ACCESS_POLICY)."
    )
