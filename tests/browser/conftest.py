"""Browser tests: headless Debian Chromium driven by Playwright (no browser download; the CI
installs `chromium` from Debian). Each test's last screen is kept as a PNG under
test-artifacts/browser/ (ignored by git), and any CSP violation or script error fails the test."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.support.system import needs_system_package

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def chromium_path() -> str:
    path = os.environ.get("KESSAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is needed for browser tests in CI: make system-deps")
        pytest.skip(needs_system_package("chromium"))
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            # Root in a container: Chromium's sandbox needs user namespaces it may not have.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        locale="ja-JP", accept_downloads=True, viewport={"width": 1400, "height": 1000}
    )
    opened = context.new_page()
    problems: list[str] = []
    # A test that opens refusals on purpose (400, 403, 404) names their statuses; Chromium reports
    # each such page as a failed resource, which is then expected rather than a problem.
    marker = request.node.get_closest_marker("http_errors")
    expected = tuple(f"responded with a status of {s} " for s in (marker.args if marker else ()))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in expected):
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("dialog", lambda dialog: dialog.accept())  # the console's confirm() prompts
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert not problems, problems


def sign_in(page: Page, base_url: str, login: str, password: str, new_password: str) -> None:
    """Sign in through the form; on a first sign-in, set `new_password` as the form demands."""
    page.goto(f"{base_url}/console/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    if page.url.endswith("/console/password"):
        page.fill("#current_password", password)
        page.fill("#new_password", new_password)
        page.fill("#new_password_again", new_password)
        page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/dashboard$"))
