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


def test_resume_works_through_a_form_post(server, browser_without_javascript):
    browser = browser_without_javascript
    run_id = start_from_form(browser, server.base, "report", {"topic": "tool libraries", "audience": "librarians"})
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='llm.finished']"),
         message="the refreshing page shows an answered call")
    wait(browser, lambda d: stop_button(d).click() or True)
    wait(browser, lambda d: chip_status(d) == "stopped", message="the refreshing page shows the end")
    wait(browser, lambda d: d.find_element(By.ID, "resume-form").is_displayed(), message="Resume is offered")
    paid = sum(1 for event in server.run(run_id)["events"] if event["kind"] == "llm.finished")
    wait(browser, lambda d: d.find_element(By.ID, "resume-button").click() or True)
    wait(browser, lambda d: "/runs/" in d.current_url and run_id not in d.current_url, message="a 303 to the new run")
    resumed_id = browser.current_url.rstrip("/").split("/runs/")[1]
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='replayed']"),
         message="the replayed steps, after a refresh")
    lines = browser.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='replayed']")
    assert len(lines) == 1 and f": {paid} LLM call" in lines[0].text, lines[0].text
    assert browser.find_element(By.ID, "resumed-from").get_attribute("href").endswith(f"/runs/{run_id}")
    wait(browser, lambda d: stop_button(d).click() or True)
    wait(browser, lambda d: chip_status(d) == "stopped", message="the resumed run stops")
    assert server.run(resumed_id)["resumedFrom"] == run_id


def test_a_token_budget_from_the_form_stops_the_run_and_the_refreshed_page_says_why(server, browser_without_javascript):
    browser = browser_without_javascript
    run_id = start_from_form(browser, server.base, "report", {"topic": "hedgehog highways", "audience": "neighbours"},
                             limits={"tokens": "250"})
    wait(browser, lambda d: chip_status(d) == "stopped", message="the refreshing page shows the end")
    assert browser.find_element(By.ID, "stop-reason").text == "Stopped: token budget of 250 reached"
    assert "250 tokens" in browser.find_element(By.ID, "run-limits").text
    usage = browser.find_element(By.ID, "run-usage-text").text
    tree = server.run(run_id)["usage"]["tree"]
    assert usage.startswith(f"{tree['llmCalls']} LLM calls \u00b7 {tree['totalTokens']:,} tokens"), usage
