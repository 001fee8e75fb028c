"""The screen with scripts disabled in Chromium: forms and the self-refreshing page."""
from selenium.webdriver.common.by import By

from conftest import STOPPING, wait
from screen import chip_status, is_disabled, start_from_form, stop_button


def test_run_and_stop_work_through_forms_and_refreshes(slow_server, browser_without_javascript):
    browser = browser_without_javascript
    browser.get(slow_server.base + "/")
    assert is_disabled(stop_button(browser))
    run_id = start_from_form(browser, slow_server.base, "report", {"topic": "rain gardens", "audience": "neighbours"})
    wait(browser, lambda d: chip_status(d) == "running" and not is_disabled(stop_button(d)), message="Stop is enabled")
    # The page refreshes itself while the run is in flight.
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "head noscript"), message="a noscript refresh")
    # A plain form post, answered 303 back here (retried if the page refreshed under the click).
    wait(browser, lambda d: stop_button(d).click() or True)
    wait(browser, lambda d: stop_button(d).text == STOPPING and is_disabled(stop_button(d)) and chip_status(d) == "stopping",
         message="the run's page says Stopping…")
    assert f"/runs/{run_id}" in browser.current_url
    wait(browser, lambda d: chip_status(d) == "stopped", message="the refreshing page shows the end")
    wait(browser, lambda d: is_disabled(stop_button(d)) and stop_button(d).text == "Stop")
    assert slow_server.run(run_id)["status"] == "stopped"
