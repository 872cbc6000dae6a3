"""The action catalog: every action the bot offers, in one table built from what the features contribute.

An action is what the access policy grants and what `can-i` asks about. Its row says how it
is typed after the slash command (`usage`), which role it needs, whether it changes anything,
and which Slack elements perform it: the action ids of buttons and menus, the callback ids of
modals, shortcuts and Workflow Builder steps. Each feature contributes its rows, the parsers of its commands and the
sentences for the Kibana errors of its calls (`Actions`, in the feature's `actions.py`); the
composition root builds one `Catalog` of them and hands it to the grammar, the access checks, the
guard, `help`, the error sentences and the listeners' registration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from bot.access import Role, Scope
from bot.kibana.errors import KibanaError
from handlers.shared.errors import Doing, Explain
from handlers.shared.grammar import Parser, help_command, link_command


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
    steps: tuple[str, ...] = ()  # Workflow Builder steps (the manifest's `functions`) that perform it
    # Where it acts, for grants that name spaces: in one Kibana space (the command's --space, the space
    # a button or form carries), in none (Kibana-wide), or on the bot's own records.
    scope: Scope = Scope.SPACE


@dataclass(frozen=True)
class Actions:
    """What one feature contributes to the catalog: its rows, the parsers of the commands they are
    typed as, by the command's first word (one parser may answer several rows: `apm` parses every `apm …`),
    and its sentences for the Kibana errors of its own calls (its endpoints, its commands)."""

    rows: tuple[Action, ...]
    parsers: Mapping[str, Parser]
    explain: Explain | None = None


HELP = Action("help", "help", Role.VIEWER, "use `help`", read_only=True, scope=Scope.BOT)
# Link and unlink a person's own Kibana API key (KIBANA_IDENTITY=person): built in, since the guard and
# the dispatcher refuse an unlinked person with the *Connect Kibana* button (handlers/shared/identity.py).
CONNECT_BUTTON = "kibana_connect"  # the *Connect Kibana* button: opens the connect form
CONNECT_MODAL = "kibana_connect_modal"
CONNECT = Action(
    "connect",
    "connect",
    Role.VIEWER,
    "link your Kibana API key (`connect`)",
    action_ids=(CONNECT_BUTTON,),
    views=(CONNECT_MODAL,),
    scope=Scope.BOT,
)
DISCONNECT = Action(
    "disconnect", "disconnect", Role.VIEWER, "unlink your Kibana API key (`disconnect`)", scope=Scope.BOT
)
BUILT_IN = Actions(
    rows=(HELP, CONNECT, DISCONNECT),
    parsers={
        "help": help_command,
        CONNECT.name: lambda words: link_command(words, CONNECT.name),
        DISCONNECT.name: lambda words: link_command(words, DISCONNECT.name),
    },
)

V = TypeVar("V")


class Catalog:
    """The built-in `help` and every feature's actions, looked up by name, by element and by column."""

    def __init__(self, *features: Actions) -> None:
        contributed = (BUILT_IN, *features)
        self.rows: tuple[Action, ...] = tuple(row for feature in contributed for row in feature.rows)
        self.parsers: Mapping[str, Parser] = _unique(
            ((word, parser) for feature in contributed for word, parser in feature.parsers.items()), "command word"
        )
        self.by_name: Mapping[str, Action] = _unique(((a.name, a) for a in self.rows), "action")
        self.by_action_id: Mapping[str, Action] = _unique(
            ((i, a) for a in self.rows for i in a.action_ids), "action id"
        )
        self.by_view: Mapping[str, Action] = _unique(((v, a) for a in self.rows for v in a.views), "view")
        self.by_shortcut: Mapping[str, Action] = _unique(((s, a) for a in self.rows for s in a.shortcuts), "shortcut")
        self.by_step: Mapping[str, Action] = _unique(((s, a) for a in self.rows for s in a.steps), "workflow step")
        # Views of the table, for the readers that need only one column.
        self.usage: Mapping[str, str] = MappingProxyType({a.name: a.usage for a in self.rows})
        self.roles: Mapping[str, Role] = MappingProxyType({a.name: a.role for a in self.rows})
        self.read_only: frozenset[str] = frozenset(a.name for a in self.rows if a.read_only)
        self._explains: tuple[Explain, ...] = tuple(f.explain for f in contributed if f.explain is not None)
        words = {name.split(" ")[0] for name in self.by_name}
        if words != set(self.parsers):
            raise ValueError(f"actions and command words disagree: {sorted(words ^ set(self.parsers))}")

    def action(self, name: str) -> Action:
        """The action called `name`; KeyError for a name the catalog does not have."""
        return self.by_name[name]

    def explain(self, error: KibanaError, doing: Doing) -> str | None:
        """The features' sentence for a Kibana error (what a `Doing` carries), None when none has one. Each
        feature words only errors it knows to be its own, so the order they are asked in does not matter."""
        for explain in self._explains:
            sentence = explain(error, doing)
            if sentence is not None:
                return sentence
        return None


def _unique(pairs: Iterable[tuple[str, V]], what: str) -> Mapping[str, V]:
    table: dict[str, V] = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"two actions claim the {what} {key!r}")
        table[key] = value
    return MappingProxyType(table)
