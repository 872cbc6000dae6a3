"""The APM feature's actions: agent configuration, agent keys and source maps; their rows of the
catalog, the buttons and the modal that perform them, their arguments and the `apm …` parser."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Role, Scope
from handlers.apm.explain import explain
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import Command, UsageError, arity, bounded, flags, identifier, short

NAME_LIMIT = 1000  # characters of a service's or an environment's name (what the Overwrite button carries)

CONFIG_OVERWRITE = "apm_config_overwrite"  # button
CONFIG_CANCEL = "apm_config_cancel"  # button that performs no action: it only answers
SOURCEMAP_DELETE = "apm_sourcemap_delete"  # button
SOURCEMAP_UPLOAD_MODAL = "apm_sourcemap_upload"  # view callback_id

AGENT_KEY_PRIVILEGES = ("event:write", "config_agent:read")

CONFIG_LIST = Action(
    "apm config list",
    "apm config list [<service>]",
    Role.VIEWER,
    "list APM agent configurations (`apm config list`)",
    read_only=True,
    scope=Scope.DEPLOYMENT,
)
CONFIG_SET = Action(
    "apm config set",
    "apm config set <service> [<environment>] key=value… [--overwrite]",
    Role.ADMIN,
    "change APM agent configuration (`apm config set`)",
    action_ids=(CONFIG_OVERWRITE,),
    scope=Scope.DEPLOYMENT,
)
KEY_CREATE = Action(
    "apm key create",
    "apm key create <name> <privilege>[,<privilege>]   (event:write, config_agent:read)",
    Role.ADMIN,
    "create APM agent keys (`apm key create`)",
    scope=Scope.DEPLOYMENT,
)
SOURCEMAPS_LIST = Action(
    "apm sourcemaps list",
    "apm sourcemaps [list]",
    Role.VIEWER,
    "list APM source maps (`apm sourcemaps list`)",
    read_only=True,
    scope=Scope.DEPLOYMENT,
)
SOURCEMAPS_UPLOAD = Action(
    "apm sourcemaps upload",
    "apm sourcemaps upload",
    Role.ADMIN,
    "upload APM source maps (`apm sourcemaps upload`)",
    views=(SOURCEMAP_UPLOAD_MODAL,),
    scope=Scope.DEPLOYMENT,
)
SOURCEMAPS_DELETE = Action(
    "apm sourcemaps delete",
    "apm sourcemaps delete <id>",
    Role.ADMIN,
    "delete APM source maps (`apm sourcemaps delete`)",
    action_ids=(SOURCEMAP_DELETE,),
    scope=Scope.DEPLOYMENT,
)


@dataclass(frozen=True)
class ServiceArgs:
    service: str | None = None


@dataclass(frozen=True)
class ConfigSetArgs:
    service: str
    environment: str | None
    settings: dict[str, str]
    overwrite: bool = False


@dataclass(frozen=True)
class AgentKeyArgs:
    name: str
    privileges: tuple[str, ...]


@dataclass(frozen=True)
class SourceMapArgs:
    id: str


def _apm(words: list[str]) -> Command:
    if not words:
        raise UsageError("Which APM command?", CONFIG_LIST.name)
    area, rest = words[0].lower(), words[1:]
    if area == "config":
        return _config(rest)
    if area in {"key", "keys"}:
        return _key(rest)
    if area in {"sourcemaps", "sourcemap"}:
        return _sourcemaps(rest)
    raise UsageError(f"`apm` has no subcommand `{short(area)}`.", CONFIG_LIST.name)


def _config(words: list[str]) -> Command:
    if not words or words[0].lower() == "list":
        rest = words[1:] if words else []
        arity(rest, CONFIG_LIST.name, 0, 1)
        service = bounded(rest[0], "service name", NAME_LIMIT, CONFIG_LIST.name) if rest else None
        return Command(CONFIG_LIST.name, ServiceArgs(service))
    if words[0].lower() != "set":
        raise UsageError(f"`apm config` has no subcommand `{short(words[0])}`.", CONFIG_SET.name)
    plain, given = flags(words[1:], {"--overwrite"}, CONFIG_SET.name)
    first_pair = next((i for i, w in enumerate(plain) if "=" in w), len(plain))
    names, pairs = plain[:first_pair], plain[first_pair:]
    if not names:
        raise UsageError("Name the service before the settings.", CONFIG_SET.name)
    if len(names) > 2:
        raise UsageError(f"`{short(names[2])}` is not a key=value setting.", CONFIG_SET.name)
    stray = [w for w in pairs if "=" not in w]
    if stray:
        raise UsageError(f"`{short(stray[0])}` is not a key=value setting.", CONFIG_SET.name)
    if not pairs:
        raise UsageError("Give at least one setting as key=value.", CONFIG_SET.name)
    settings: dict[str, str] = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        if not key:
            raise UsageError(f"`{short(pair)}` has no key before `=`.", CONFIG_SET.name)
        if not value:
            raise UsageError(f"`{short(key)}` has no value after `=`.", CONFIG_SET.name)
        settings[key] = value
    service = bounded(names[0], "service name", NAME_LIMIT, CONFIG_SET.name)
    environment = bounded(names[1], "environment name", NAME_LIMIT, CONFIG_SET.name) if len(names) > 1 else None
    return Command(CONFIG_SET.name, ConfigSetArgs(service, environment, settings, "--overwrite" in given))


def _key(words: list[str]) -> Command:
    if not words or words[0].lower() != "create":
        raise UsageError("Only `apm key create` exists.", KEY_CREATE.name)
    plain, _ = flags(words[1:], set(), KEY_CREATE.name)
    arity(plain, KEY_CREATE.name, 2, 2)
    name = identifier(plain[0], "key name", KEY_CREATE.name)
    privileges = [p.strip() for p in plain[1].split(",") if p.strip()]
    unknown = [p for p in privileges if p not in AGENT_KEY_PRIVILEGES]
    if unknown or not privileges:
        raise UsageError(f"`{short(plain[1])}` is not a list of agent key privileges.", KEY_CREATE.name)
    return Command(KEY_CREATE.name, AgentKeyArgs(name, tuple(dict.fromkeys(privileges))))


def _sourcemaps(words: list[str]) -> Command:
    if not words or words[0].lower() == "list":
        arity(words[1:] if words else [], SOURCEMAPS_LIST.name, 0, 0)
        return Command(SOURCEMAPS_LIST.name)
    sub, rest = words[0].lower(), words[1:]
    if sub == "upload":
        arity(rest, SOURCEMAPS_UPLOAD.name, 0, 0)
        return Command(SOURCEMAPS_UPLOAD.name)
    if sub == "delete":
        arity(rest, SOURCEMAPS_DELETE.name, 1, 1)
        return Command(
            SOURCEMAPS_DELETE.name, SourceMapArgs(identifier(rest[0], "source map id", SOURCEMAPS_DELETE.name))
        )
    raise UsageError(f"`apm sourcemaps` has no subcommand `{short(sub)}`.", SOURCEMAPS_LIST.name)


ACTIONS = Actions(
    rows=(CONFIG_LIST, CONFIG_SET, KEY_CREATE, SOURCEMAPS_LIST, SOURCEMAPS_UPLOAD, SOURCEMAPS_DELETE),
    parsers={"apm": _apm},
    explain=explain,
)
