"""Every action the bot offers, in one table.

An action is what the access policy grants and what `can-i` asks about. Its row says how it
is typed after the slash command (`usage`), which role it needs, whether it changes anything,
and which Slack elements perform it: the action ids of buttons and menus, the callback ids of
modals and shortcuts. The grammar, the access checks, the buttons, `help` and the listeners'
registration all read this table; nothing else lists actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.access import Role

# Buttons and menus (block_actions action_id)
ALERT_MUTE = "alert_mute"
ALERT_UNMUTE = "alert_unmute"
RULE_MUTE_ALL = "rule_mute_all"
RULE_UNMUTE_ALL = "rule_unmute_all"
RULE_DISABLE = "rule_disable"
RULE_ENABLE = "rule_enable"
RULE_SNOOZE = "rule_snooze"
RULE_UNSNOOZE = "rule_unsnooze"
RULE_SHOW = "rule_show"
CASE_OPEN = "case_open"
CONFIG_OVERWRITE = "apm_config_overwrite"
SOURCEMAP_DELETE = "apm_sourcemap_delete"

# Elements that perform no action: a link the client opens, a cancel that only answers.
RULE_LINK = "rule_link"
CONFIG_CANCEL = "apm_config_cancel"

# Modals (view callback_id) and the message shortcut (callback_id)
DISABLE_MODAL = "rule_disable_modal"
SNOOZE_MODAL = "rule_snooze_modal"
CASE_MODAL = "case_create_modal"
COMMENT_MODAL = "case_comment_modal"
SOURCEMAP_UPLOAD_MODAL = "apm_sourcemap_upload"
OPEN_CASE_SHORTCUT = "open_case"


@dataclass(frozen=True)
class Action:
    name: str  # typed after the slash command; also the access-policy action
    usage: str  # the usage line, after the slash command
    role: Role  # the least role that may do it
    doing: str  # for refusals: "You need the … role to <doing>"
    read_only: bool = False  # changes nothing: refusals are not audited, a timeout leaves no doubt
    action_ids: tuple[str, ...] = ()  # buttons and menus that perform it
    views: tuple[str, ...] = ()  # modals whose submission performs it
    shortcuts: tuple[str, ...] = ()  # message shortcuts that start it


V, R, OP, A = Role.VIEWER, Role.RESPONDER, Role.OPERATOR, Role.ADMIN

CATALOG: tuple[Action, ...] = (
    Action("help", "help", V, "use `help`", read_only=True),
    Action("health", "health", V, "see alerting `health`", read_only=True),
    Action(
        "health subscribe",
        'health subscribe <schedule> [--on-change]   (cron "*/15 * * * *", "every 15m|2h|1d", '
        '"daily 09:00 Europe/Paris")',
        OP,
        "subscribe channels to health reports (`health subscribe`)",
    ),
    Action(
        "health unsubscribe",
        "health unsubscribe [<id>|all]",
        OP,
        "remove health-report subscriptions (`health unsubscribe`)",
    ),
    Action(
        "health subscriptions",
        "health subscriptions",
        OP,
        "list health-report subscriptions (`health subscriptions`)",
        read_only=True,
    ),
    Action(
        "alerts subscribe",
        "alerts subscribe (--rule <id> | --tag <tag> | --all)   post this space's alerts here, read from "
        "Kibana's alerts-as-data (any licence, no rule changes)",
        OP,
        "subscribe channels to alerts (`alerts subscribe`)",
    ),
    Action(
        "alerts unsubscribe",
        "alerts unsubscribe <id>|all",
        OP,
        "remove alert subscriptions (`alerts unsubscribe`)",
    ),
    Action(
        "alerts subscriptions",
        "alerts subscriptions",
        OP,
        "list alert subscriptions (`alerts subscriptions`)",
        read_only=True,
    ),
    Action("rules", "rules [<words>]", V, "find `rules`", read_only=True),
    Action("rule", "rule <rule_id>", V, "show a `rule`", read_only=True, action_ids=(RULE_SHOW,)),
    Action("mute", "mute <rule_id> <alert_id>", R, "`mute` alerts", action_ids=(ALERT_MUTE,)),
    Action("unmute", "unmute <rule_id> <alert_id>", R, "`unmute` alerts", action_ids=(ALERT_UNMUTE,)),
    Action("mute-all", "mute-all <rule_id>", OP, "mute all alerts of a rule (`mute-all`)", action_ids=(RULE_MUTE_ALL,)),
    Action(
        "unmute-all",
        "unmute-all <rule_id>",
        OP,
        "unmute all alerts of a rule (`unmute-all`)",
        action_ids=(RULE_UNMUTE_ALL,),
    ),
    Action(
        "disable",
        "disable <rule_id> [--untrack]",
        OP,
        "`disable` rules",
        action_ids=(RULE_DISABLE,),
        views=(DISABLE_MODAL,),
    ),
    Action("enable", "enable <rule_id>", OP, "`enable` rules", action_ids=(RULE_ENABLE,)),
    Action(
        "snooze",
        "snooze <rule_id> <duration>   (30m, 4h, 1d, 2w)",
        R,
        "`snooze` rules",
        action_ids=(RULE_SNOOZE,),
        views=(SNOOZE_MODAL,),
    ),
    Action("unsnooze", "unsnooze <rule_id> [<schedule_id>]", R, "`unsnooze` rules", action_ids=(RULE_UNSNOOZE,)),
    Action(
        "case",
        "case [<title>]",
        R,
        "open cases (`case`)",
        action_ids=(CASE_OPEN,),
        views=(CASE_MODAL, COMMENT_MODAL),
        shortcuts=(OPEN_CASE_SHORTCUT,),
    ),
    Action(
        "apm config list",
        "apm config list [<service>]",
        V,
        "list APM agent configurations (`apm config list`)",
        read_only=True,
    ),
    Action(
        "apm config set",
        "apm config set <service> [<environment>] key=value… [--overwrite]",
        A,
        "change APM agent configuration (`apm config set`)",
        action_ids=(CONFIG_OVERWRITE,),
    ),
    Action(
        "apm key create",
        "apm key create <name> <privilege>[,<privilege>]   (event:write, config_agent:read)",
        A,
        "create APM agent keys (`apm key create`)",
    ),
    Action(
        "apm sourcemaps list",
        "apm sourcemaps [list]",
        V,
        "list APM source maps (`apm sourcemaps list`)",
        read_only=True,
    ),
    Action(
        "apm sourcemaps upload",
        "apm sourcemaps upload",
        A,
        "upload APM source maps (`apm sourcemaps upload`)",
        views=(SOURCEMAP_UPLOAD_MODAL,),
    ),
    Action(
        "apm sourcemaps delete",
        "apm sourcemaps delete <id>",
        A,
        "delete APM source maps (`apm sourcemaps delete`)",
        action_ids=(SOURCEMAP_DELETE,),
    ),
    Action("whoami", "whoami", V, "use `whoami`", read_only=True),
    Action("can-i", "can-i <action>", V, "use `can-i`", read_only=True),
    Action("audit", "audit [rule <rule_id>] [last <n>]", OP, "read the `audit` log", read_only=True),
)
del V, R, OP, A

# Snoozes longer than the menu's longest choice (1 day) are in effect a `disable`, so they need
# the role of one. Not a command of its own: the rule writes check it for every snooze, however
# it was asked for (the command, the menu, the custom form).
LONGEST_SHORT_SNOOZE_MINUTES = 24 * 60
SNOOZE_LONG = Action(
    "snooze-long",
    "snooze <rule_id> <duration>   (longer than 1d)",
    Role.OPERATOR,
    "`snooze` rules for longer than 1 day",
)

BY_NAME: Mapping[str, Action] = MappingProxyType({action.name: action for action in CATALOG})
BY_ACTION_ID: Mapping[str, Action] = MappingProxyType({i: a for a in CATALOG for i in a.action_ids})
BY_VIEW: Mapping[str, Action] = MappingProxyType({v: a for a in CATALOG for v in a.views})

# Views of the table, for the readers that need only one column.
USAGE: Mapping[str, str] = MappingProxyType({action.name: action.usage for action in CATALOG})
ROLES: Mapping[str, Role] = MappingProxyType({action.name: action.role for action in CATALOG})
READ_ACTIONS = frozenset(action.name for action in CATALOG if action.read_only)


def action(name: str) -> Action:
    """The action called `name`; KeyError for a name the catalog does not have."""
    return BY_NAME[name]
