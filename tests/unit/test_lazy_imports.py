"""Start-up imports only what the mode needs: HTTP mode loads no Socket Mode client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_http_mode_imports_no_socket_mode() -> None:
    probe = (
        "import sys, bot.server, devkit.harness, bot.cli\n"
        "loaded = sorted(m for m in sys.modules if 'socket_mode' in m)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""
