"""Kibana's own mustache.js (npm `mustache` 2.3.2, the version Kibana's package.json asks for), to render
a Webhook connector body as Kibana does: `tests/fixtures/kibana/render_body.js` under Node.js.

npm installs it beside the script on first use (the npm registry is one of the registries this project
may use). Without Node.js and npm the tests that need it skip; in CI (`CI` set) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "kibana"
SCRIPT = FIXTURE / "render_body.js"
NODE = shutil.which("node")
NPM = shutil.which("npm")


@cache
def _installed() -> str | None:
    """None when mustache.js is ready; else why not."""
    if NODE is None or NPM is None:
        return "Node.js and npm are not installed"
    if (FIXTURE / "node_modules" / "mustache" / "package.json").is_file():
        return None
    done = subprocess.run(  # noqa: S603 - npm, on the repository's own package.json
        [NPM, "install", "--no-audit", "--no-fund", "--no-package-lock", "--silent"],
        cwd=FIXTURE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return f"npm could not install mustache 2.3.2: {done.stderr.strip()[-300:]}"
    return None


def require_kibana_mustache() -> None:
    """Skips the test without Node.js or npm (fails in CI, where they are part of the set-up)."""
    why = _installed()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI renders the connector bodies with Kibana's mustache)")
        pytest.skip(why)


def kibana_render(template: str, variables: object) -> bytes:
    """The body Kibana's mustache.js renders from `template` with Kibana's JSON escaping."""
    require_kibana_mustache()
    assert NODE is not None
    job = json.dumps({"template": template, "variables": variables})
    done = subprocess.run(  # noqa: S603 - node, on the repository's own script
        [NODE, str(SCRIPT)], input=job.encode(), capture_output=True, timeout=30, check=True
    )
    rendered: str = json.loads(done.stdout)
    return rendered.encode("utf-8")
