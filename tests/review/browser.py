"""A real browser for the review tests: Debian's chromium driven by Selenium (chromedriver), logged in to Label Studio.

Chromium runs headless with the flags this machine needs (no sandbox as root, no background networking: the
network is closed) and ``--autoplay-policy=no-user-gesture-required`` so a test can start playback itself.
:func:`chromium_or_skip` skips a test with the reason when chromium, chromedriver or Selenium is missing
(``scripts/setup.sh`` installs them, so CI has them).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars", "--mute-audio"]


def chromium_or_skip() -> tuple[str, str]:
    """Paths of chromium and chromedriver; skip the test (with the reason) when either or Selenium is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if exe is None or driver is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; "
                    "scripts/setup.sh installs them)")
    pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[dev]')")
    return exe, driver


@contextmanager
def chromium(size: tuple[int, int] = (1400, 900)) -> Iterator[Any]:
    """A headless chromium WebDriver of the given window size (quit on exit)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    exe, driver_path = chromium_or_skip()
    with tempfile.TemporaryDirectory(prefix="avatar-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = exe
        for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            driver.set_window_size(*size)
            yield driver
        finally:
            driver.quit()


def login(driver: Any, url: str, email: str, password: str) -> None:
    """Log in through Label Studio's own form."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/user/login/")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
    wait_for(lambda: "/user/login" not in driver.current_url, 60, "the login to finish")


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the page is still loading: keep polling
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def screenshot(driver: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
