"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a screenshot helper.

A browser test module imports the fixtures it uses (``chromium_fixture`` provides
``chromium``, ``page_fixture`` provides ``page``); Chromium starts only for them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import require_programs

TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module", name="chromium")
def chromium_fixture() -> Iterator[Any]:
    require_programs("chromium")  # Debian's; `make chromium` installs it
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(name="page")
def page_fixture(chromium: Any) -> Iterator[Any]:
    """A page in a fresh browser context: its own cookies, as a separate device would have."""
    context = chromium.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def screenshot(page: Any, folder: str, name: str) -> None:
    """Save the whole page as ``test-output/<folder>/<name>.png``."""
    directory = TEST_OUTPUT / folder
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
