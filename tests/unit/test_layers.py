"""The layers hold: the shared plumbing imports no feature, features import each other only along the
chain alerts → cases → alerting and never the composition root, and the bot/ core imports no listener
code (the contracts are in pyproject.toml, under [tool.importlinter]).

import-linter runs in a process of its own: in this one it would disable every existing logger."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(  # noqa: S603 - our own venv's lint-imports, fixed arguments
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 5
    assert "0 broken" in done.stdout and f"{len(contracts)} kept" in done.stdout
