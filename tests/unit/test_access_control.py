"""AccessControl: roles from the default, user grants, group grants (cached) and channel limits."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.access import AccessControl, Policy, Refusal, Role, parse_policy
from handlers import build_catalog

CATALOG = build_catalog()
ACTIONS, catalog_action = CATALOG.roles, CATALOG.action

POLICY = """\
default_role = "viewer"

[[grants]]
role = "responder"
groups = ["S0RESP001"]

[[grants]]
role = "operator"
users = ["U0OPS0001"]
groups = ["S0OPS0001"]
channels = ["C0123OPS"]

[[grants]]
role = "admin"
users = ["U0ADMIN01"]
"""


class FakeGroups:
    """A stand-in for usergroups.users.list that counts calls and can fail."""

    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members = members
        self.calls: list[str] = []
        self.failing: set[str] = set()
        self.delay = 0.0

    async def __call__(self, group_id: str) -> frozenset[str]:
        self.calls.append(group_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if group_id in self.failing:
            raise RuntimeError("usergroups.users.list failed: ratelimited")
        return frozenset(self.members.get(group_id, set()))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def groups() -> FakeGroups:
    return FakeGroups({"S0RESP001": {"U0RESP001", "U0BOTH001"}, "S0OPS0001": {"U0GRPOPS1"}})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def access(groups: FakeGroups, clock: Clock) -> AccessControl:
    return AccessControl(parse_policy(POLICY, source="/etc/bot/policy.toml"), groups, clock=clock)


def user_with(role: Role) -> AccessControl:
    """An AccessControl where user U0TESTER1 has exactly `role` everywhere."""
    if role is Role.NONE:
        return AccessControl(parse_policy('default_role = "none"'), FakeGroups({}))
    text = f'default_role = "none"\n[[grants]]\nrole = "{role}"\nusers = ["U0TESTER1"]\n'
    return AccessControl(parse_policy(text), FakeGroups({}))


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", list(Role), ids=str)
async def test_every_role_against_every_action(role: Role, action: str) -> None:
    refusal = await user_with(role).check("U0TESTER1", "C0GENERAL", catalog_action(action))
    if role >= ACTIONS[action]:
        assert refusal is None
    else:
        assert refusal == Refusal(action, ACTIONS[action], role)
        assert f"*{ACTIONS[action]}*" in refusal.message()


async def test_an_unknown_action_is_a_programming_error(access: AccessControl) -> None:
    with pytest.raises(KeyError):
        await access.check("U0ADMIN01", None, catalog_action("format-disk"))


def test_the_refusal_message_says_what_is_needed_and_who_to_ask() -> None:
    assert Refusal("disable", Role.OPERATOR, Role.RESPONDER, "`disable` rules").message() == (
        "You need the *operator* role to `disable` rules; you are *responder*. "
        "Ask an admin of this bot to grant it in the access policy (ACCESS_POLICY)."
    )
    assert "you have no role" in Refusal("health", Role.VIEWER, Role.NONE).message()


async def test_everyone_has_the_default_role(access: AccessControl, groups: FakeGroups) -> None:
    decision = await access.role_of("U0NOBODY1", "C0GENERAL")
    assert decision.role is Role.VIEWER
    assert decision.reasons == ["default_role viewer"]
    assert await access.check("U0NOBODY1", "C0GENERAL", catalog_action("health")) is None
    refusal = await access.check("U0NOBODY1", "C0GENERAL", catalog_action("mute"))
    assert refusal == Refusal("mute", Role.RESPONDER, Role.VIEWER)


async def test_default_role_none_denies_everything() -> None:
    control = AccessControl(parse_policy('default_role = "none"'), FakeGroups({}))
    assert (await control.role_of("U0ANYONE1", None)).role is Role.NONE
    for action in ("help", "health", "whoami"):
        assert await control.check("U0ANYONE1", None, catalog_action(action)) == Refusal(action, Role.VIEWER, Role.NONE)


async def test_the_built_in_default_lets_everyone_respond_but_not_operate() -> None:
    control = AccessControl(Policy(), FakeGroups({}))
    assert await control.check("U0ANYONE1", None, catalog_action("mute")) is None
    assert await control.check("U0ANYONE1", None, catalog_action("disable")) == Refusal(
        "disable", Role.OPERATOR, Role.RESPONDER
    )
    assert (await control.role_of("U0ANYONE1", None)).reasons == ["default_role responder"]


async def test_a_user_grant_applies_everywhere(access: AccessControl) -> None:
    decision = await access.role_of("U0ADMIN01", None)
    assert decision.role is Role.ADMIN
    assert decision.reasons == ["default_role viewer", "grant admin (policy.toml line 13) via user U0ADMIN01"]
    assert await access.check("U0ADMIN01", "C0ANY0001", catalog_action("apm key create")) is None


async def test_a_channel_limited_grant_holds_only_in_its_channels(access: AccessControl) -> None:
    here = await access.role_of("U0OPS0001", "C0123OPS")
    assert here.role is Role.OPERATOR
    assert here.reasons == [
        "default_role viewer",
        "grant operator (policy.toml line 7) via user U0OPS0001 in channel C0123OPS",
    ]
    assert (await access.role_of("U0OPS0001", "C0GENERAL")).role is Role.VIEWER
    assert (await access.role_of("U0OPS0001", None)).role is Role.VIEWER  # e.g. a DM-less surface
    assert await access.check("U0OPS0001", "C0123OPS", catalog_action("disable")) is None
    assert await access.check("U0OPS0001", "C0GENERAL", catalog_action("disable")) == Refusal(
        "disable", Role.OPERATOR, Role.VIEWER
    )


async def test_a_group_grant_applies_to_its_members(access: AccessControl, groups: FakeGroups) -> None:
    decision = await access.role_of("U0GRPOPS1", "C0123OPS")
    assert decision.role is Role.OPERATOR
    assert decision.reasons == [
        "default_role viewer",
        "grant operator (policy.toml line 7) via group S0OPS0001 in channel C0123OPS",
    ]
    assert (await access.role_of("U0RESP001", "C0GENERAL")).role is Role.RESPONDER
    assert (await access.role_of("U0STRANGR", "C0123OPS")).role is Role.VIEWER


async def test_whoami_lists_every_grant_that_applies(access: AccessControl) -> None:
    both = AccessControl(
        parse_policy(POLICY.replace('users = ["U0ADMIN01"]', 'users = ["U0ADMIN01", "U0BOTH001"]')),
        FakeGroups({"S0RESP001": {"U0BOTH001"}}),
    )
    decision = await both.role_of("U0BOTH001", "C0GENERAL")
    assert decision.role is Role.ADMIN
    assert decision.reasons == [
        "default_role viewer",
        "grant admin (<policy> line 13) via user U0BOTH001",
        "grant responder (<policy> line 3) via group S0RESP001",
    ]


async def test_group_members_are_cached_then_refreshed(access: AccessControl, groups: FakeGroups, clock: Clock) -> None:
    assert (await access.role_of("U0RESP001", None)).role is Role.RESPONDER
    assert groups.calls == ["S0RESP001"]  # the operator grant does not hold outside C0123OPS
    clock.now += 59
    groups.members["S0RESP001"].discard("U0RESP001")
    assert (await access.role_of("U0RESP001", None)).role is Role.RESPONDER  # still the cached answer
    assert groups.calls == ["S0RESP001"]
    clock.now += 2
    assert (await access.role_of("U0RESP001", None)).role is Role.VIEWER  # refreshed after 60 s
    assert groups.calls == ["S0RESP001", "S0RESP001"]


async def test_concurrent_checks_share_one_lookup(access: AccessControl, groups: FakeGroups) -> None:
    groups.delay = 0.01
    decisions = await asyncio.gather(*(access.role_of("U0RESP001", None) for _ in range(10)))
    assert {d.role for d in decisions} == {Role.RESPONDER}
    assert groups.calls == ["S0RESP001"]


async def test_check_skips_lookups_that_cannot_change_the_answer(access: AccessControl, groups: FakeGroups) -> None:
    assert await access.check("U0ADMIN01", "C0123OPS", catalog_action("disable")) is None  # admin by user grant
    assert await access.check("U0NOBODY1", "C0123OPS", catalog_action("health")) is None  # the default suffices
    assert groups.calls == []
    assert await access.check("U0NOBODY1", "C0123OPS", catalog_action("disable")) is not None
    assert groups.calls == ["S0OPS0001"]  # the responder group cannot make anyone an operator


async def test_a_failing_lookup_fails_closed_and_is_retried_soon(
    access: AccessControl, groups: FakeGroups, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    groups.failing.add("S0OPS0001")
    with caplog.at_level(logging.WARNING, logger="bot.access"):
        refusal = await access.check("U0GRPOPS1", "C0123OPS", catalog_action("disable"))
    assert refusal == Refusal("disable", Role.OPERATOR, Role.VIEWER)
    assert "S0OPS0001" in caplog.text and "RuntimeError" in caplog.text
    assert await access.check("U0GRPOPS1", "C0123OPS", catalog_action("disable")) is not None
    assert groups.calls == ["S0OPS0001"]  # the failure is remembered briefly...
    groups.failing.clear()
    clock.now += 6
    assert await access.check("U0GRPOPS1", "C0123OPS", catalog_action("disable")) is None  # ...not for the full minute
    assert groups.calls == ["S0OPS0001", "S0OPS0001"]


async def test_a_slow_lookup_times_out_and_fails_closed(groups: FakeGroups) -> None:
    groups.delay = 5.0
    control = AccessControl(parse_policy(POLICY), groups, lookup_timeout=0.05)
    decision = await asyncio.wait_for(control.role_of("U0RESP001", None), timeout=3)
    assert decision.role is Role.VIEWER
