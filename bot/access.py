"""Who may do what: roles, the access policy (TOML) and the checks.

Roles are ordered `viewer < responder < operator < admin`; each includes the ones
before it. Every member of the workspace has the policy's `default_role` (which may
be `none`); grants raise the role of named users and members of Slack user groups,
optionally only in some channels and only in some Kibana spaces. Which role an action needs,
and whether it acts in one space, is the handlers' action catalog's to say; the checks here
take any `Permission`.

Spaces: a grant with `spaces = [...]` (and the default role with `default_spaces = [...]`)
holds only for what is done in those spaces; without the key it holds in every space. An
action in no one space (APM, which Kibana keeps for the whole deployment) takes its role only
from what holds in every space; the bot's own answers (help, whoami, the lists of a channel's
subscriptions) from what holds in any space.
"""

from __future__ import annotations

import asyncio
import difflib
import enum
import logging
import re
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.identifiers import is_space_id
from bot.settings import ConfigError

log = logging.getLogger(__name__)


class Role(enum.IntEnum):
    NONE = 0
    VIEWER = 1
    RESPONDER = 2
    OPERATOR = 3
    ADMIN = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called `name` (lower-case, as written in the policy); KeyError if none."""
        if name != name.lower():
            raise KeyError(name)
        return cls[name.upper()]


class Scope(enum.Enum):
    """Where an action reads or writes, which says which grants that name spaces count for it."""

    SPACE = "space"  # in one Kibana space (the command's --space, a button's space): grants for that space
    DEPLOYMENT = "deployment"  # in no one space (APM settings, agent keys, source maps): grants for every space
    BOT = "bot"  # the bot's own answers (help, whoami, a channel's subscription list): grants for any space


# Where a role is asked for: a space id, or a scope that is not one space (DEPLOYMENT or BOT).
Where = str | Scope


class Permission(Protocol):
    """What the access checks need to know of an action (the handlers' action catalog has them all)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def doing(self) -> str: ...
    @property
    def scope(self) -> Scope: ...


def _holds_for(spaces: frozenset[str] | None, where: Where) -> bool:
    """Whether something limited to `spaces` (None: every space) holds for `where`."""
    if spaces is None or where is Scope.BOT:
        return True
    if isinstance(where, Scope):  # DEPLOYMENT: only what holds in every space
        return False
    return where in spaces


BUILT_IN_SOURCE = "built-in default"
_GRANT_KEYS = ("role", "users", "groups", "channels", "spaces")
_TOP_KEYS = ("default_role", "default_spaces", "grants")
_ID_PATTERNS = {  # Slack ids, so that a name ("@alice", "#ops") is caught at start-up
    "users": (re.compile(r"^[UW][A-Z0-9]{2,}$"), "a Slack user id like U012AB3CD"),
    "groups": (re.compile(r"^S[A-Z0-9]{2,}$"), "a Slack user group id like S0614TZR7"),
    "channels": (re.compile(r"^[CGD][A-Z0-9]{2,}$"), "a Slack channel id like C0123OPS"),
}


class PolicyError(ConfigError):
    """A malformed or unreadable access policy; the message names the file, the line and the problem.

    A configuration error like any other: `bot.cli` prints it (as ACCESS_POLICY's) and exits 2."""


@dataclass(frozen=True)
class Grant:
    role: Role
    users: frozenset[str]
    groups: frozenset[str]
    channels: frozenset[str] | None  # None: in every channel
    line: int | None = None
    spaces: frozenset[str] | None = None  # None: in every Kibana space

    def holds_in(self, channel_id: str | None) -> bool:
        return self.channels is None or (channel_id is not None and channel_id in self.channels)

    def holds_for(self, where: Where) -> bool:
        return _holds_for(self.spaces, where)


@dataclass(frozen=True)
class Policy:
    default_role: Role = Role.RESPONDER
    grants: tuple[Grant, ...] = ()
    source: str = BUILT_IN_SOURCE
    default_spaces: frozenset[str] | None = None  # where default_role holds; None: in every space

    @property
    def spaces(self) -> frozenset[str]:
        """Every space the policy names (empty: it limits nothing to spaces)."""
        named = [g.spaces for g in self.grants if g.spaces is not None]
        if self.default_spaces is not None:
            named.append(self.default_spaces)
        return frozenset().union(*named)


# --- loading the policy ---------------------------------------------------------------


def load_policy(path: Path | None) -> Policy:
    """The policy in the TOML file at `path`, or the built-in default when `path` is None."""
    if path is None:
        return Policy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the access policy ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: the access policy is not UTF-8 text") from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and check a policy; raises PolicyError naming the line and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(str(error), text, source) from None
    lines = _KeyLines.scan(text)

    def fail(line: int | None, problem: str) -> PolicyError:
        where = f"{source}, line {line}" if line else source
        return PolicyError(f"{where}: {problem}")

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(lines.top.get(key), f"unknown key `{key}` (expected default_role, default_spaces or [[grants]])")
    default_role = Role.RESPONDER
    if "default_role" in data:
        line = lines.top.get("default_role")
        value = data["default_role"]
        if not isinstance(value, str):
            raise fail(line, f"default_role must be a string, not {_toml_type(value)}")
        default_role = _role(value, allow_none=True, fail=lambda p: fail(line, p))
    default_spaces = None
    if "default_spaces" in data:
        line = lines.top.get("default_spaces")
        default_spaces = _spaces(data["default_spaces"], "default_spaces", lambda p: fail(line, p))
    raw_grants = data.get("grants", [])
    if not isinstance(raw_grants, list) or not all(isinstance(g, dict) for g in raw_grants):
        raise fail(lines.top.get("grants"), "grants must be [[grants]] tables")
    grants = []
    for index, raw in enumerate(raw_grants):
        header = lines.grant_line(index) or lines.top.get("grants")
        keys = lines.grant_keys(index)
        grants.append(_grant(raw, header, keys, fail))
    return Policy(default_role=default_role, grants=tuple(grants), source=source, default_spaces=default_spaces)


def _grant(
    raw: dict[str, object],
    header: int | None,
    keys: dict[str, int],
    fail: Callable[[int | None, str], PolicyError],
) -> Grant:
    for key in raw:
        if key not in _GRANT_KEYS:
            raise fail(keys.get(key, header), f"unknown key `{key}` in a grant (expected {', '.join(_GRANT_KEYS)})")
    if "role" not in raw:
        raise fail(header, "this grant has no role")
    role_value = raw["role"]
    line = keys.get("role", header)
    if not isinstance(role_value, str):
        raise fail(line, f"role must be a string, not {_toml_type(role_value)}")
    role = _role(role_value, allow_none=False, fail=lambda p: fail(line, p))
    ids: dict[str, frozenset[str]] = {}
    for key in ("users", "groups", "channels"):
        if key not in raw:
            continue
        value, line = raw[key], keys.get(key, header)
        if not isinstance(value, list):
            raise fail(line, f"{key} must be a list of strings, not {_toml_type(value)}")
        for item in value:
            if not isinstance(item, str):
                raise fail(line, f"{key} must be a list of strings (ids in quotes), not of {_toml_type(item)}")
        pattern, meaning = _ID_PATTERNS[key]
        for item in value:
            if not pattern.match(item):
                raise fail(line, f"{key}: {item!r} is not {meaning}")
        ids[key] = frozenset(value)
    if not ids.get("users") and not ids.get("groups"):
        raise fail(header, "this grant names no users and no groups (give users = [...] or groups = [...])")
    if "channels" in ids and not ids["channels"]:
        raise fail(keys.get("channels", header), "channels is empty; remove it to grant in every channel")
    spaces = None
    if "spaces" in raw:
        line = keys.get("spaces", header)
        spaces = _spaces(raw["spaces"], "spaces", lambda p: fail(line, p))
    return Grant(
        role=role,
        users=ids.get("users", frozenset()),
        groups=ids.get("groups", frozenset()),
        channels=ids.get("channels"),
        line=header,
        spaces=spaces,
    )


def _spaces(value: object, key: str, fail: Callable[[str], PolicyError]) -> frozenset[str]:
    """A list of Kibana space ids (`spaces` of a grant, `default_spaces`)."""
    if not isinstance(value, list):
        raise fail(f"{key} must be a list of Kibana space ids, not {_toml_type(value)}")
    if not value:
        raise fail(f"{key} is empty; remove it to hold in every space")
    for item in value:
        if not isinstance(item, str):
            raise fail(f"{key} must be a list of strings (space ids in quotes), not of {_toml_type(item)}")
        if not is_space_id(item):
            raise fail(f"{key}: {item!r} is not a Kibana space id (lower-case letters, digits, _ and -)")
    return frozenset(value)


def _role(name: str, *, allow_none: bool, fail: Callable[[str], PolicyError]) -> Role:
    choices = [str(r) for r in Role if allow_none or r is not Role.NONE]
    try:
        role = Role.named(name)
    except KeyError:
        role = None
    if role is None or role.name.lower() not in choices:
        near = difflib.get_close_matches(name.lower(), choices, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise fail(f"unknown role {name!r}{hint}; roles are {', '.join(choices)}")
    return role


def _toml_type(value: object) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false", list: "a list"}
    return names.get(type(value), "a table" if isinstance(value, dict) else "a date/time")


def _toml_error(message: str, text: str, source: str) -> PolicyError:
    found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
    last = max(1, len(text.splitlines()))
    where = f"line {found[1]}, column {found[2]}" if found else f"line {last} (end of file)"
    return PolicyError(f"{source}, {where}: invalid TOML: {problem}")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass
class _KeyLines:
    """Where keys and [[grants]] headers are, found by scanning the text (tomllib gives no positions)."""

    top: dict[str, int]
    grants: list[tuple[int, dict[str, int]]]  # per [[grants]]: its header line, its keys' lines

    @classmethod
    def scan(cls, text: str) -> _KeyLines:
        top: dict[str, int] = {}
        grants: list[tuple[int, dict[str, int]]] = []
        current: dict[str, int] | None = top
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header[2].strip("\"'")
                if header[1] == "[[" and name == "grants":
                    grants.append((number, {}))
                    current = grants[-1][1]
                else:  # another table: an unknown key of the top level
                    top.setdefault(name.split(".")[0].strip("\"' "), number)
                    current = None
                continue
            key = _KEY.match(line)
            if key and current is not None:
                current.setdefault(key[1] or key[2] or key[3], number)
        return cls(top, grants)

    def grant_line(self, index: int) -> int | None:
        return self.grants[index][0] if index < len(self.grants) else None

    def grant_keys(self, index: int) -> dict[str, int]:
        return self.grants[index][1] if index < len(self.grants) else {}


# --- deciding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleDecision:
    role: Role
    reasons: list[str]


@dataclass(frozen=True)
class Refusal:
    action: str
    needed: Role
    have: Role
    doing: str = field(default="", compare=False)  # what the action does, in words
    # Where the role was needed, when the policy limits grants to spaces (None: it names no spaces).
    where: Where | None = field(default=None, compare=False)

    def message(self) -> str:
        doing = self.doing or f"use `{self.action}`"
        there = "" if self.where is None or self.where is Scope.BOT else " there"
        have = f"you have no role{there}" if self.have is Role.NONE else f"you are *{self.have}*{there}"
        return (
            f"You need the *{self.needed}* role{_in(self.where)} to {doing}; {have}. Ask an admin of this bot to "
            "grant it in the access policy (ACCESS_POLICY)."
        )


def _in(where: Where | None) -> str:
    if where is None or where is Scope.BOT:
        return ""
    if isinstance(where, Scope):
        return (
            " in every Kibana space (Kibana keeps this for all spaces, so a grant that names spaces does not give it)"
        )
    return f" in Kibana space `{where}`"


class AccessControl:
    """Answers "what role has this user here?" and "may they do this?" for one policy.

    `group_members(group_id)` resolves a Slack user group (the app calls
    usergroups.users.list). Answers are cached for `cache_seconds`; concurrent lookups
    of one group share one call. A failing or slow lookup is logged and counts as "not a
    member" (fail closed), and is retried after `failure_cache_seconds`.
    """

    def __init__(
        self,
        policy: Policy,
        group_members: Callable[[str], Awaitable[frozenset[str]]],
        *,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        failure_cache_seconds: float = 5.0,
        lookup_timeout: float = 10.0,
    ) -> None:
        self.policy = policy
        self._group_members = group_members
        self._cache_seconds = cache_seconds
        self._failure_cache_seconds = min(failure_cache_seconds, cache_seconds)
        self._lookup_timeout = lookup_timeout
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._pending: dict[str, asyncio.Task[tuple[float, frozenset[str]]]] = {}

    async def role_of(self, user_id: str, channel_id: str | None, where: Where = Scope.BOT) -> RoleDecision:
        """The user's role in the channel, for what is done in `where` (a space id; Scope.DEPLOYMENT: in
        no one space; Scope.BOT: in any space), with every reason (the default role, each grant that applies)."""
        return await self._decide(user_id, channel_id, where, enough=None)

    async def check(
        self, user_id: str, channel_id: str | None, action: Permission, space: str | None = None
    ) -> Refusal | None:
        """None when the user may do `action` here (in `space`, when the action acts in one), else the Refusal."""
        needed = action.role
        where = self.where(action, space)
        decision = await self._decide(user_id, channel_id, where, enough=needed)
        if decision.role >= needed:
            return None
        shown = where if self.policy.spaces else None
        return Refusal(action.name, needed, decision.role, action.doing, shown)

    def where(self, action: Permission, space: str | None) -> Where:
        """Which grants count for `action` done in `space`: its scope, or the space for one in a space
        (an action in a space asked without one is asked for every space: only unlimited grants count)."""
        if action.scope is Scope.SPACE:
            return space if space is not None else Scope.DEPLOYMENT
        return action.scope

    async def spaces_with(self, user_id: str, channel_id: str | None, role: Role) -> frozenset[str] | None:
        """The spaces where the user has `role` in the channel; None: every space."""
        if (await self._decide(user_id, channel_id, Scope.DEPLOYMENT, enough=role)).role >= role:
            return None
        found = set()
        for space in sorted(self.policy.spaces):
            if (await self._decide(user_id, channel_id, space, enough=role)).role >= role:
                found.add(space)
        return frozenset(found)

    async def _decide(self, user_id: str, channel_id: str | None, where: Where, *, enough: Role | None) -> RoleDecision:
        policy = self.policy
        default_holds = _holds_for(policy.default_spaces, where)
        role = policy.default_role if default_holds else Role.NONE
        reasons = [self._default_reason(default_holds)]
        applicable = [g for g in policy.grants if g.holds_in(channel_id) and g.holds_for(where)]
        for grant in applicable:
            if user_id in grant.users:
                role = max(role, grant.role)
                reasons.append(self._reason(grant, f"user {user_id}", channel_id))
        # Group lookups cost Slack API calls: skip those that cannot change the answer.
        wanted = [g for g in applicable if g.groups and (enough is None or (role < enough and g.role >= enough))]
        groups = sorted({group for grant in wanted for group in grant.groups})
        members = dict(zip(groups, await asyncio.gather(*(self._members(g) for g in groups)), strict=True))
        for grant in wanted:
            for group in sorted(grant.groups):
                if user_id in members[group]:
                    role = max(role, grant.role)
                    reasons.append(self._reason(grant, f"group {group}", channel_id))
                    break
        return RoleDecision(role, reasons)

    def _default_reason(self, holds: bool) -> str:
        spaces = self.policy.default_spaces
        if spaces is None:
            return f"default_role {self.policy.default_role}"
        listed = ", ".join(sorted(spaces))
        if holds:
            return f"default_role {self.policy.default_role} in spaces {listed}"
        return f"default_role {self.policy.default_role} holds only in spaces {listed}"

    def _reason(self, grant: Grant, via: str, channel_id: str | None) -> str:
        where = f" ({Path(self.policy.source).name} line {grant.line})" if grant.line else ""
        channel = f" in channel {channel_id}" if grant.channels is not None else ""
        spaces = f" in spaces {', '.join(sorted(grant.spaces))}" if grant.spaces is not None else ""
        return f"grant {grant.role}{where} via {via}{channel}{spaces}"

    async def _members(self, group_id: str) -> frozenset[str]:
        cached = self._cache.get(group_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        task = self._pending.get(group_id)
        if task is None:
            task = asyncio.ensure_future(self._lookup(group_id))
            self._pending[group_id] = task
            task.add_done_callback(lambda _: self._pending.pop(group_id, None))
        expires, members = await asyncio.shield(task)
        self._cache[group_id] = (expires, members)
        return members

    async def _lookup(self, group_id: str) -> tuple[float, frozenset[str]]:
        try:
            async with asyncio.timeout(self._lookup_timeout):
                members = frozenset(await self._group_members(group_id))
        except Exception as error:
            log.warning(
                "could not read the members of user group %s (%s: %s); treating the user as not a member",
                group_id,
                type(error).__name__,
                error,
            )
            return self._clock() + self._failure_cache_seconds, frozenset()
        return self._clock() + self._cache_seconds, members
