"""The README's command list is the catalog's: every action the features contribute is listed with
its syntax, and the list names no command the bot does not have."""

from __future__ import annotations

import re
from pathlib import Path

from handlers import build_catalog

README = Path(__file__).resolve().parents[2] / "README.md"


def command_block() -> str:
    text = README.read_text()
    section = text.split("## The `/kibana` command", 1)[1]
    return section.split("```", 2)[1]


def syntax(usage: str) -> str:
    """The usage line without its explanation (what follows three spaces)."""
    return re.split(r"\s{3,}", usage, maxsplit=1)[0].strip()


def test_every_action_of_the_catalog_is_in_the_readme_with_its_syntax() -> None:
    block = " ".join(command_block().split())
    missing = [action.usage for action in build_catalog().rows if syntax(action.usage) not in block]
    assert not missing, f"README.md's command list lacks {missing}"


def test_the_readme_lists_no_command_the_bot_does_not_have() -> None:
    words = {name.split(" ")[0] for name in build_catalog().by_name}
    listed = set()
    for line in command_block().splitlines():
        if not line.startswith(" "):  # continuation lines are indented
            listed |= {part.split()[0] for part in line.split("  |  ") if part.strip()}
    assert listed - words == set(), f"README.md lists commands the bot lacks: {sorted(listed - words)}"
