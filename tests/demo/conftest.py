"""Fixtures for the demo: the whole demo running in this event loop, and a headless Chromium
(Debian's, driven by Playwright for Python; never a downloaded browser).

Without Chromium or the playwright package the browser tests skip locally and FAIL in CI
(CI=true), so CI never passes by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devkit.demo import Demo, running_demo

CHROMIUM = os.environ.get("DEMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_problem() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the Python package `playwright` is not installed (pip install playwright)"
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture
def chromium() -> str:
    problem = chromium_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"browser tests cannot run in CI: {problem}")
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    async with running_demo(port=0) as running:
        yield running


@pytest.fixture
async def page(chromium: str, demo: Demo, tmp_path: Path) -> AsyncIterator[Any]:
    """A Playwright page showing the demo (1280×800)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            tab = await context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            await tab.goto(demo.page_url)
            yield tab
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            await browser.close()
