"""Headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) opening
Superset dashboards: every chart must draw, none may show an error."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
# Per chart of the page: its name, an error shown in it, whether it is still loading, shows
# "no results", or has drawn (a canvas, an SVG, table rows, a big number) below its header.
_STATE_JS = """
const bodyOf = c => [...c.children].filter(e => e.getAttribute('data-test') !== 'slice-header');
const find = (c, s) => bodyOf(c).map(e => e.matches(s) ? e : e.querySelector(s)).find(Boolean);
return [...document.querySelectorAll("[data-test='chart-grid-component']")].map(c => {
  const error = find(c, ".ant-alert-error, [data-test='error-alert'], .alert-danger");
  return {
    name: c.getAttribute('data-test-chart-name'),
    error: error ? error.innerText.slice(0, 300) : null,
    loading: !!find(c, "[data-test='loading-indicator'], .loading, [aria-label='Loading']"),
    empty: !!find(c, ".empty-state, [data-test='empty-state']"),
    drawn: !!find(c, "canvas, svg, table tbody tr, .header-line"),
  };
});
"""


def browser_problem() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        return f"missing {', '.join(missing)}: apt-get install -y chromium chromium-driver"
    return None


@dataclass
class DashboardCheck:
    title: str
    charts: int = 0
    drawn: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Browser:
    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="segflow-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile / 'profile'}")
        options.add_argument(f"--window-size={width},{height}")
        service = Service(CHROMEDRIVER, env={"HOME": str(self.profile)})
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(120)

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def login(self, url: str, user: str, password: str) -> None:
        d = self.driver
        d.get(f"{url}/login/")
        deadline = time.monotonic() + 60
        while not d.find_elements(By.CSS_SELECTOR, "input[name='username'], #username"):
            if time.monotonic() > deadline:
                raise AssertionError(f"no login form at {url}/login/")
            time.sleep(0.5)
        d.find_element(By.CSS_SELECTOR, "input[name='username'], #username").send_keys(user)
        d.find_element(By.CSS_SELECTOR, "input[name='password'], #password").send_keys(password)
        d.find_element(By.CSS_SELECTOR, "button[type='submit'], input[type='submit']").click()
        while "/login" in d.current_url:
            if time.monotonic() > deadline:
                raise AssertionError("the login did not go through")
            time.sleep(0.5)

    def check_dashboard(
        self, url: str, title: str, expected_charts: int, timeout: float = 120
    ) -> DashboardCheck:
        d = self.driver
        started = time.monotonic()
        d.get(url)
        result = DashboardCheck(title)
        deadline = started + timeout
        states: list[dict] = []
        while time.monotonic() < deadline:
            states = d.execute_script(_STATE_JS)
            settled = len(states) >= expected_charts and all(
                st["error"] or st["empty"] or (st["drawn"] and not st["loading"]) for st in states
            )
            if settled:
                break
            time.sleep(1)
        time.sleep(1)  # let animations finish before a screenshot
        for st in d.execute_script(_STATE_JS):
            result.charts += 1
            if st["error"]:
                result.errors[st["name"]] = st["error"]
            elif st["drawn"] and not st["empty"] and not st["loading"]:
                result.drawn.append(st["name"])
            else:
                result.empty.append(st["name"])
        result.seconds = time.monotonic() - started
        return result

    def screenshot(self, path: Path, width: int = 1400) -> None:
        """The whole page, scaled down to a small PNG."""
        d = self.driver
        height = d.execute_script(
            "const m = document.querySelector('.dashboard-content, .grid-container');"
            "return Math.max(document.body.scrollHeight, m ? m.scrollHeight + 200 : 0);"
        )
        d.set_window_size(width, min(int(height) + 150, 4000))
        time.sleep(2)
        d.save_screenshot(str(path))
