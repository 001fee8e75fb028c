"""Screenshots of each state at desktop and phone widths, for people to look at.
They are written to Tests/Browser/screenshots/ (not committed)."""
import pytest
from selenium.webdriver.common.by import By

from conftest import SCREENSHOTS, STOPPING, make_driver, wait
from screen import chip_status, start_from_form, stop_button

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.mark.parametrize("size", SIZES)
def test_screenshots_of_each_state(slow_server, server, size):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    driver = make_driver(width=width, height=height)
    shots = []
    try:
        def shot(state):
            path = SCREENSHOTS / f"{state}-{size}.png"
            driver.save_screenshot(str(path))
            shots.append(path)

        driver.get(slow_server.base + "/?agent=report")
        shot("idle")
        start_from_form(driver, slow_server.base, "report", {"topic": "urban beekeeping", "audience": "city councillors"})
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#progress-log .in-flight"))
        shot("running")
        stop_button(driver).click()
        wait(driver, lambda d: stop_button(d).text == STOPPING)
        shot("stopping")
        wait(driver, lambda d: chip_status(d) == "stopped")
        shot("stopped")
        run_id = server.start_run("broken", {"count": 2})
        driver.get(f"{server.base}/runs/{run_id}")
        wait(driver, lambda d: chip_status(d) == "failed")
        shot("failed")
    finally:
        driver.quit()
    for path in shots:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"{path} is an image of the page"
    assert len(shots) == 5
