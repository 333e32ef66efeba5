"""The status page in a real browser: Debian's Chromium, headless, driven by Playwright.

A live API over a fake backend whose creates wait for the test: the page must draw the
backend's bars and an in-flight create with its progress, follow the progress as it moves
and show the create's failure message when it fails -- all without a reload. The run leaves
a screenshot in the test's temporary directory (its path is printed).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth import errors
from hearth.api import server
from hearth.db import backends, image_cache, images, models, volumes
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from tests.conftest import make_settings, open_hearth, require
from tests.fakes import FakeDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium keeps calling home, which the closed network refuses
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GIB = 1 << 30
WAIT_MS = 15_000  # the page polls every 2 s


class HeldCreateDriver(FakeDriver):
    """A fake 16 GiB backend whose ``create_volume``, once ``holding``, waits until the
    test ends it (``end``)."""

    def __init__(self) -> None:
        super().__init__(total_bytes=16 * GIB)
        self.holding = False
        self.started = threading.Event()
        self._ended = threading.Event()
        self._error: BaseException | None = None

    def end(self, error: BaseException | None = None) -> None:
        """Let the held create finish, or fail with ``error``."""
        self._error = error
        self._ended.set()

    def create_volume(self, volume: base.VolumeRef) -> base.ModelUpdate | None:
        if not self.holding:
            return super().create_volume(volume)
        self.started.set()
        assert self._ended.wait(60)
        if self._error is not None:
            raise self._error
        return super().create_volume(volume)


@pytest.fixture
def browser() -> Iterator[Any]:
    require(CHROMIUM.exists(), "Debian's chromium is not installed (apt-get install chromium)")
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Hearth, HeldCreateDriver, str]]:
    """A Hearth whose one backend holds its creates, and its API's URL."""
    driver = HeldCreateDriver()
    hearth = open_hearth(make_settings(tmp_path / "data", api={"port": 0}), {"local": driver})
    try:
        with server.Background(hearth) as running:
            yield hearth, driver, running.url
    finally:
        driver.end()  # never leave a create waiting in a worker
        hearth.close()


def _add_to_the_view(hearth: Hearth) -> None:
    """An image-volume cache entry, and a backend that stopped reporting long ago."""
    long_ago = models.utcnow() - timedelta(hours=3)
    with hearth.services.db.transaction() as session:
        image = images.create(
            session,
            name="debian-12",
            owner="admin",
            visibility="public",
            disk_format="qcow2",
            container_format="bare",
            status="active",
        )
        image_cache.create(
            session,
            host="local",
            image_id=image.id,
            image_checksum="0" * 64,
            image_updated_at=long_ago,
            size=2,
            status="ready",
        )
        backends.report(
            session,
            "retired",
            driver="file",
            availability_zone="az2",
            clone_mode="copy",
            total_bytes=8 * GIB,
            free_bytes=2 * GIB,
        )
        backends.get(session, "retired").reported_at = long_ago


def _report_progress(hearth: Hearth, volume_id: str, done: int, total: int) -> None:
    """What the image path writes on the row while it copies data."""
    with hearth.services.db.transaction() as session:
        volumes.update(session, volume_id, progress={"phase": "copy", "done": done, "total": total})


def test_the_page_shows_backends_a_create_in_flight_and_its_failure_without_a_reload(
    browser: Any, held: tuple[Hearth, HeldCreateDriver, str], tmp_path: Path
) -> None:
    hearth, driver, url = held
    kept = hearth.create_volume(size=6, name="kept")
    hearth.services.managers["local"].report_stats()
    _add_to_the_view(hearth)
    driver.holding = True
    response = httpx.post(
        f"{url}/v3/volumes",
        json={"volume": {"size": 4, "name": "held-create"}},
        headers={"X-Auth-Token": "alice:project-a"},
    )
    assert response.status_code == 202, response.text
    volume_id = response.json()["volume"]["id"]
    assert driver.started.wait(30)
    _report_progress(hearth, volume_id, GIB, 4 * GIB)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/dashboard")
    page.fill("#token", "root:admin")
    page.click("#login button[type=submit]")

    backend = page.locator('[data-backend="local"]')
    backend.wait_for(timeout=WAIT_MS)
    assert backend.locator('[role="progressbar"][aria-label="space used"]').count() == 1
    assert backend.locator('[role="progressbar"][aria-label="claimed"]').count() == 1
    assert backend.locator(".badge").inner_text() == "up"
    used = backend.locator('[role="progressbar"][aria-label="space used"]')
    assert used.get_attribute("aria-valuenow") == str(round(100 * kept.size / 16, 1))
    assert "10 GiB free" in backend.inner_text()
    assert page.locator('[data-backend="retired"] .badge').inner_text() == "down"
    assert "debian-12" in page.locator("#image-cache tr[data-entry]").inner_text()
    create = page.locator(f'[data-volume="{volume_id}"]')
    create.wait_for(timeout=WAIT_MS)
    assert "held-create" in create.inner_text()
    assert create.locator(".phase").inner_text() == "copy"
    assert create.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "25.0"
    assert "25%" in create.inner_text()
    page.evaluate("window.notReloaded = true")

    _report_progress(hearth, volume_id, 3 * GIB, 4 * GIB)
    page.wait_for_selector(
        f'[data-volume="{volume_id}"] [role="progressbar"][aria-valuenow="75.0"]', timeout=WAIT_MS
    )
    screenshot = tmp_path / "dashboard-in-flight.png"
    page.screenshot(path=str(screenshot), full_page=True)

    # markup in a message stays text: the page never parses what the server sends as HTML
    driver.end(errors.BackendSourceMissing(kind="snapshot", source_id="<b>s-dashboard</b>"))
    failure = page.locator("#failures tr[data-message]", has_text=volume_id)
    failure.wait_for(timeout=WAIT_MS)
    page.locator(f'[data-volume="{volume_id}"]').wait_for(state="detached", timeout=WAIT_MS)

    assert "no longer holds the data of snapshot <b>s-dashboard</b>" in failure.inner_text()
    assert failure.locator("b").count() == 0
    assert page.evaluate("window.notReloaded") is True
    screenshot = tmp_path / "dashboard-failure.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"dashboard screenshots: {tmp_path}/dashboard-*.png")
    assert screenshot.stat().st_size > 10_000


def test_a_token_that_is_not_an_admins_is_refused_on_the_page(
    browser: Any, held: tuple[Hearth, HeldCreateDriver, str]
) -> None:
    _, _, url = held
    page = browser.new_page()
    page.goto(f"{url}/dashboard")
    page.fill("#token", "alice:project-a")
    page.click("#login button[type=submit]")

    page.wait_for_function(
        "document.getElementById('login-error').textContent.includes('administrators')",
        timeout=WAIT_MS,
    )
    assert page.locator("#board").is_hidden()
