"""Browser fixtures: Debian's Chromium driven by Playwright, and a local swarm of real nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launch the system Chromium (installed by scripts/test) once per test session."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run ./scripts/test, which installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """Return a fresh browser profile (cookies, storage) for one test."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def screenshots(output_dir: Path) -> Path:
    """Return the folder where tests save screenshots of the main pages."""
    path = output_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
