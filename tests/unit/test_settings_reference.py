"""Every setting is documented: `bot/settings.py`, `.env.example` and the settings reference
(docs/settings.md) name the same settings with the same defaults, and the README's first-run table
names only real settings, with their defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AnyHttpUrl
from pydantic.fields import FieldInfo

from bot.settings import Settings

ROOT = Path(__file__).parents[2]
REFERENCE = ROOT / "docs" / "settings.md"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"

NAME = r"[A-Z][A-Z0-9_]*"
NAMES_CELL = re.compile(rf"`{NAME}`(, `{NAME}`)*")  # a settings table's first cell: `A`, `B`
ENV_LINE = re.compile(rf"#?\s*({NAME})=(.*)")  # `NAME=value`, or `# NAME=` for one left commented out


def fields() -> dict[str, FieldInfo]:
    return {name.upper(): field for name, field in Settings.model_fields.items()}


def section(path: Path, heading: str) -> str:
    """The text under `## heading`, up to the next `## ` heading."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_defaults(text: str) -> dict[str, str]:
    """{setting: its default cell} from the rows of the settings tables in `text`."""
    defaults: dict[str, str] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or not NAMES_CELL.fullmatch(cells[0]):
            continue
        names = re.findall(NAME, cells[0])
        values = cells[1].split(", ")
        assert len(values) in (1, len(names)), f"{line!r}: give one default, or one per setting"
        for name, value in zip(names, values * len(names) if len(values) == 1 else values, strict=True):
            assert name not in defaults, f"{name} is in the settings tables twice"
            defaults[name] = value
    return defaults


def env_example() -> dict[str, str]:
    """{setting: its value} in .env.example (empty when it is left unset)."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.fullmatch(line.strip())
        if match:
            assert match[1] not in found, f"{match[1]} is in .env.example twice"
            found[match[1]] = match[2].strip()
    return found


def shown(value: object) -> str:
    """A default as the documentation writes it: `true`, `10` (not 10.0), the text itself."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def same_value(written: str, default: object) -> bool:
    if isinstance(default, AnyHttpUrl):  # http://localhost:5601 is http://localhost:5601/
        return str(AnyHttpUrl(written)) == str(default)
    return written == shown(default)


def check_default(name: str, written: str, field: FieldInfo, where: str) -> None:
    if field.is_required():
        assert written.startswith("— (required"), f"{where}: {name} is required, so its default is '— (required)'"
    elif field.default is None:
        fallback = re.fullmatch(rf"`({NAME})`", written)  # unset means another setting's value
        assert written.startswith("—") or (fallback and fallback[1] in fields()), (
            f"{where}: {name} has no default in bot/settings.py, so its default is '—' or another setting's name; "
            f"found {written!r}"
        )
    else:
        value = re.fullmatch(r"`([^`]+)`", written)
        assert value and same_value(value[1], field.default), (
            f"{where}: {name}'s default is `{shown(field.default)}` in bot/settings.py, {written!r} here"
        )


def test_the_reference_lists_every_setting_and_only_those() -> None:
    documented, defined = set(table_defaults(section(REFERENCE, "Settings"))), set(fields())
    undocumented, unknown = sorted(defined - documented), sorted(documented - defined)
    assert not undocumented, f"settings in bot/settings.py but not in docs/settings.md: {undocumented}"
    assert not unknown, f"docs/settings.md lists settings bot/settings.py lacks: {unknown}"


def test_env_example_lists_every_setting_and_only_those() -> None:
    listed, defined = set(env_example()), set(fields())
    unlisted, unknown = sorted(defined - listed), sorted(listed - defined)
    assert not unlisted, f"settings in bot/settings.py but not in .env.example: {unlisted}"
    assert not unknown, f".env.example lists settings bot/settings.py lacks: {unknown}"


def test_the_reference_gives_each_setting_its_default() -> None:
    known = fields()
    for name, written in table_defaults(section(REFERENCE, "Settings")).items():
        if name in known:  # (a setting the code lacks is the test above's failure)
            check_default(name, written, known[name], "docs/settings.md")


def test_a_value_in_env_example_is_the_default() -> None:
    """`cp .env.example .env` changes nothing but what one fills in: the values written are the defaults."""
    known = fields()
    written = {name: value for name, value in env_example().items() if value and name in known}
    assert len(written) >= 20  # the example does show defaults
    for name, value in written.items():
        field = known[name]
        if field.is_required():
            continue  # a placeholder to replace, such as SLACK_BOT_TOKEN=xoxb-your-bot-token
        assert field.default is not None and same_value(value, field.default), (
            f".env.example: {name}={value}, but its default in bot/settings.py is {shown(field.default)!r}"
        )


def test_the_readme_first_run_settings_are_real_settings_with_their_defaults() -> None:
    known = fields()
    first_run = table_defaults(section(README, "Settings for a first run"))
    assert {"SLACK_BOT_TOKEN", "KIBANA_URL", "KIBANA_API_KEY"} <= set(first_run)
    for name, written in first_run.items():
        assert name in known, f"README.md's first-run table names {name}, which bot/settings.py lacks"
        check_default(name, written, known[name], "README.md")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("| `A_B` | `1` | x |", {"A_B": "`1`"}),
        ("| `A`, `B` | — | x |", {"A": "—", "B": "—"}),
        ("| `A`, `B` | —, `true` | x |", {"A": "—", "B": "`true`"}),
        ("| `python -m bot` | x | y |", {}),
        ("| `GET /healthz` | liveness |", {}),
    ],
)
def test_the_table_reader_reads_rows_as_written(row: str, expected: dict[str, str]) -> None:
    assert table_defaults(row) == expected
