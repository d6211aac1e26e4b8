"""Chromium for the UI tests, driven by Playwright's sync API.

The browser is package-scoped: one for all of tests/ui (per database engine), closed before
any other test runs, because Playwright's sync API marks an asyncio loop as running in the
main thread while it is alive, and other tests call ``asyncio.run()``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]  # fmt: skip


@pytest.fixture(scope="package")
def chromium():
    """A headless Chromium (the Debian package, never a download)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: scripts/test-services installs it")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(chromium, request):
    """A fresh browser context (no cookies) and page; ``page.screenshot_as(name)`` saves a
    full-page screenshot to test-artifacts/ui/<engine>-<name>.png."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    engine = _engine(getattr(request.node, "callspec", None))
    page.screenshot_as = lambda name: page.screenshot(
        path=str(ARTIFACTS / f"{engine}-{name}.png"), full_page=True
    )
    yield page
    context.close()


def _engine(callspec) -> str:
    url = callspec.params.get("database_url", "sqlite") if callspec else "sqlite"
    return "sqlite" if url.startswith("sqlite") else url.split("+")[0].split(":")[0]
