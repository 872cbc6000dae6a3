"""Each feature words the Kibana errors of its own calls and contributes that to the catalog; the shared
plumbing keeps only generic sentences and names no feature's command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.access import Role
from bot.kibana.errors import KibanaError, KibanaNotFound, KibanaServerError
from handlers import build_catalog
from handlers.shared.catalog import BUILT_IN, Action, Actions, Catalog
from handlers.shared.errors import Doing, describe
from handlers.shared.grammar import Command

SHARED = Path(__file__).resolve().parents[2] / "handlers" / "shared"
# An expression that stands for the slash command in an f-string: `cmd`, `doing.command`, `inv.slash`, …
SLASH_COMMAND = re.compile(r"\b(?:cmd|slash|slack_command)\b|\.command\b")
TYPED = re.compile(r"/kibana (?P<word>[a-z][a-z-]*)")


def _strings(source: str) -> list[tuple[int, str]]:
    """Every string in the source; in an f-string, the slash command is written `/kibana` and any other
    expression `{}`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            found.append((node.lineno, "".join(_written(part) for part in node.values)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    return found


def _written(part: ast.expr) -> str:
    if isinstance(part, ast.Constant):
        return str(part.value)
    if isinstance(part, ast.FormattedValue) and SLASH_COMMAND.search(ast.unparse(part.value)):
        return "/kibana"
    return "{}"


def named_commands(source: str, words: set[str]) -> list[tuple[int, str]]:
    """(line, command word) for each sentence that tells the person to type one of `words`."""
    return [
        (line, typed["word"])
        for line, text in _strings(source)
        for typed in TYPED.finditer(text)
        if typed["word"] in words
    ]


def _feature_words() -> set[str]:
    return set(build_catalog().parsers) - set(BUILT_IN.parsers)


def test_the_check_finds_a_command_named_in_a_sentence() -> None:
    source = (
        "def f(cmd, doing, rule):\n"
        "    a = f'Mute all alerts ({code(f\"{cmd} mute-all {rule}\")})'\n"
        "    b = f'Check the id with `{doing.command} rules`, or try `{cmd} help`.'\n"
        "    c = 'or `/kibana apm sourcemaps`'\n"
        "    d = f'`{command}` has no option, {count} rules'\n"
    )
    assert sorted(named_commands(source, _feature_words())) == [(2, "mute-all"), (3, "rules"), (4, "apm")]


def test_the_shared_plumbing_names_no_features_command_in_a_sentence() -> None:
    words = _feature_words()
    assert {"mute-all", "disable", "snooze", "rules", "rule", "apm", "case"} <= words
    named = {
        f"{path.name}:{line} names `{word}`"
        for path in sorted(SHARED.glob("*.py"))
        for line, word in named_commands(path.read_text(), words)
    }
    assert named == set()


PING = Action("ping", "ping <host>", Role.VIEWER, "`ping` hosts", read_only=True)


def _explain_ping(error: KibanaError, doing: Doing) -> str | None:
    if isinstance(error, KibanaNotFound) and "/api/ping/" in (error.path or ""):
        return f"No such host {doing.space}. List them with `{doing.command} ping`."
    return None


def _doing(catalog: Catalog) -> Doing:
    return Doing(command="/ops", explain=catalog.explain, action="ping", space="lab")


def test_a_features_sentences_are_asked_before_the_generic_ones() -> None:
    plain = Actions(rows=(PING,), parsers={"ping": lambda _: Command("ping")})
    worded = Actions(rows=plain.rows, parsers=plain.parsers, explain=_explain_ping)
    gone = KibanaNotFound("Not Found", method="GET", path="/s/lab/api/ping/db-1")
    assert describe(gone, _doing(Catalog(worded))) == "No such host lab. List them with `/ops ping`."
    assert describe(gone, _doing(Catalog(plain))) == "Kibana found nothing there in space `lab`: Not Found."
    broken = KibanaServerError("boom", status_code=500, path="/s/lab/api/ping/db-1")
    assert describe(broken, _doing(Catalog(worded))) == (
        "Kibana failed with an internal error (500) while `/ops ping`. Try again later."
    )


def test_the_bots_catalog_asks_alerting_apm_and_cases() -> None:
    catalog = build_catalog()
    doing = Doing(command="/kibana", explain=catalog.explain, action="case", space="ops")
    gone = KibanaNotFound("Case c1 not found", path="/s/ops/api/cases/c1")
    assert describe(gone, doing) == "That case no longer exists in space `ops`: Case c1 not found."
    assert catalog.explain(KibanaNotFound("x", path="/s/ops/api/status"), doing) is None
