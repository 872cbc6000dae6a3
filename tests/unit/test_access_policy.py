"""The access policy file: parsing, the built-in default, and every malformed-policy error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.access import Grant, Policy, PolicyError, Role, load_policy, parse_policy
from handlers import build_catalog

ACTIONS = build_catalog().roles

DESIGN_EXAMPLE = """\
default_role = "responder"      # every workspace member; "none" denies everything by default

[[grants]]
role = "operator"
users = ["U012AB3CD"]           # Slack user ids
groups = ["S0614TZR7"]          # Slack user group ids
channels = ["C0123OPS"]         # optional: the grant holds only in these channels

[[grants]]
role = "admin"
users = ["U0ADMIN01"]
"""


def test_the_design_example_parses_with_lines() -> None:
    policy = parse_policy(DESIGN_EXAMPLE, source="policy.toml")
    assert policy == Policy(
        default_role=Role.RESPONDER,
        grants=(
            Grant(Role.OPERATOR, frozenset({"U012AB3CD"}), frozenset({"S0614TZR7"}), frozenset({"C0123OPS"}), 3),
            Grant(Role.ADMIN, frozenset({"U0ADMIN01"}), frozenset(), None, 9),
        ),
        source="policy.toml",
    )


def test_without_a_file_the_built_in_default_is_responder_and_no_grants() -> None:
    policy = load_policy(None)
    assert policy.default_role is Role.RESPONDER
    assert policy.grants == ()
    assert policy.source == "built-in default"


def test_load_policy_reads_the_file_and_names_it_as_source(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('default_role = "none"\n', encoding="utf-8")
    policy = load_policy(path)
    assert policy.default_role is Role.NONE
    assert policy.source == str(path)


def test_an_empty_file_means_the_default_role_responder() -> None:
    assert parse_policy("").default_role is Role.RESPONDER


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.toml: cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_a_file_that_is_not_utf8_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b'default_role = "\xff"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)


def test_roles_are_ordered_and_named_in_lower_case() -> None:
    assert Role.NONE < Role.VIEWER < Role.RESPONDER < Role.OPERATOR < Role.ADMIN
    assert [str(r) for r in Role] == ["none", "viewer", "responder", "operator", "admin"]
    assert f"{Role.OPERATOR}" == "operator"


def test_the_action_table_follows_the_design() -> None:
    by_role = {role: sorted(a for a, r in ACTIONS.items() if r is role) for role in Role}
    assert by_role[Role.NONE] == []
    assert {"help", "health", "rules", "rule", "whoami", "can-i"} <= set(by_role[Role.VIEWER])
    assert {"apm config list", "apm sourcemaps list"} <= set(by_role[Role.VIEWER])
    assert by_role[Role.RESPONDER] == [
        "add",
        "attach",
        "case",
        "case sync",
        "claim",
        "mute",
        "release",
        "snooze",
        "unmute",
        "unsnooze",
    ]
    assert set(by_role[Role.OPERATOR]) == {
        "disable",
        "enable",
        "mute-all",
        "unmute-all",
        "health subscribe",
        "health unsubscribe",
        "health subscriptions",
        "alerts subscribe",
        "alerts unsubscribe",
        "alerts subscriptions",
        "audit",
        "mw start",
        "mw list",
        "mw end",
        "case status",
    }
    assert by_role[Role.ADMIN] == [
        "apm config set",
        "apm key create",
        "apm sourcemaps delete",
        "apm sourcemaps upload",
    ]
    with pytest.raises(TypeError):
        ACTIONS["disable"] = Role.VIEWER  # type: ignore[index]


# Each case: the policy text, the line the error must name, and words the message must contain.
MALFORMED = [
    pytest.param('default_role = "superuser"\n', 1, "unknown role 'superuser'", id="unknown default role"),
    pytest.param('default_role = "Admin"\n', 1, "did you mean 'admin'", id="role in the wrong case"),
    pytest.param("default_role = 3\n", 1, "default_role must be a string, not an integer", id="default wrong type"),
    pytest.param('# comment\ndefault_rol = "viewer"\n', 2, "unknown key `default_rol`", id="unknown top key"),
    pytest.param('default_role = "viewer"\n\n[settings]\nx = 1\n', 3, "unknown key `settings`", id="unknown table"),
    pytest.param('[[grants]]\nrole = "operater"\nusers = ["U1AB"]\n', 2, "did you mean 'operator'", id="typo role"),
    pytest.param('[[grants]]\nrole = "none"\nusers = ["U1AB"]\n', 2, "unknown role 'none'", id="grant of none"),
    pytest.param('[[grants]]\nusers = ["U1AB"]\n', 1, "this grant has no role", id="grant without role"),
    pytest.param('[[grants]]\nrole = ["admin"]\nusers = ["U1AB"]\n', 2, "role must be a string", id="role list"),
    pytest.param(
        'default_role = "viewer"\n[[grants]]\nrole = "admin"\nusers = ["U1AB"]\n\n[[grants]]\nrole = "viewer"\n',
        6,
        "names no users and no groups",
        id="second grant without members",
    ),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = []\ngroups = []\n', 1, "names no users and no groups", id="empty lists"
    ),
    pytest.param('[[grants]]\nrole = "admin"\nusers = "U1AB"\n', 3, "users must be a list of strings", id="users str"),
    pytest.param(
        '[[grants]]\nrole = "admin"\ngroups = [1, 2]\n',
        3,
        "groups must be a list of strings (ids in quotes), not of an integer",
        id="ints",
    ),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nchannels = "C1"\n', 4, "channels must be a list", id="chan str"
    ),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nchannels = []\n', 4, "channels is empty", id="no channels"
    ),
    pytest.param(
        '[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nuser = ["U2AB"]\n', 4, "unknown key `user`", id="grant key"
    ),
    pytest.param('[[grants]]\nrole = "admin"\nusers = [\n  "@alice",\n]\n', 3, "'@alice' is not a Slack user id"),
    pytest.param('[[grants]]\nrole = "admin"\ngroups = ["oncall"]\n', 3, "is not a Slack user group id"),
    pytest.param('[[grants]]\nrole = "admin"\nusers = ["U1AB"]\nchannels = ["#ops"]\n', 4, "not a Slack channel id"),
    pytest.param('grants = "everyone"\n', 1, "grants must be [[grants]] tables", id="grants string"),
    pytest.param('default_role = "viewer"\nrole = \n', 2, "invalid TOML: Invalid value", id="bad toml"),
    pytest.param('default_role = "viewer"\ndefault_role = "admin"\n', 2, "invalid TOML", id="duplicate key"),
    pytest.param("x = 1\n\ny = [1,\n  2,,]\n", 4, "column 5", id="toml column"),
]


@pytest.mark.parametrize(("text", "line", "words"), MALFORMED)
def test_a_malformed_policy_names_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="policy.toml")
    message = str(raised.value)
    assert re.match(rf"policy\.toml, line {line}\b", message), message
    assert words in message


def test_an_inline_grant_is_located_at_the_grants_key() -> None:
    text = 'default_role = "none"\ngrants = [{ role = "admin" }]\n'
    with pytest.raises(PolicyError, match=r"^<policy>, line 2: this grant names no users"):
        parse_policy(text)


def test_the_error_names_the_file_given_to_load_policy(tmp_path: Path) -> None:
    path = tmp_path / "access.toml"
    path.write_text('[[grants]]\nrole = "root"\nusers = ["U1AB"]\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(path))}, line 2: unknown role 'root'"):
        load_policy(path)
