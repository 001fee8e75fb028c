"""The Runs screen through its stable hooks (DESIGN §5)."""
from selenium.webdriver.common.by import By


def stop_button(driver):
    return driver.find_element(By.ID, "stop-button")


def run_button(driver):
    return driver.find_element(By.ID, "run-button")


def chip_status(driver):
    return driver.find_element(By.CSS_SELECTOR, "#run-status .chip").get_attribute("data-status")


def log_seqs(driver):
    return [int(row.get_attribute("data-seq")) for row in driver.find_elements(By.CSS_SELECTOR, "#progress-log [data-seq]")]


def is_disabled(element):
    return element.get_attribute("disabled") is not None


def start_from_form(driver, base, agent, fields, limits=None):
    """Opens the agent's form, fills it (and its Limits) and presses Run; returns the run's id."""
    driver.get(f"{base}/?agent={agent}")
    boxes = [(f"field-{name}", value) for name, value in fields.items()]
    boxes += [(f"limit-{name}", value) for name, value in (limits or {}).items()]
    for element_id, value in boxes:
        box = driver.find_element(By.ID, element_id)
        box.clear()
        box.send_keys(value)
    run_button(driver).click()
    from conftest import wait
    wait(driver, lambda d: "/runs/" in d.current_url, message="Run leads to the run's page")
    return driver.current_url.rstrip("/").split("/runs/")[1].split("?")[0]


def mark_page(driver):
    """Sets a marker a reload would wipe out."""
    driver.execute_script("window.__tetherNoReload = 'still here';")


def page_was_not_reloaded(driver):
    return driver.execute_script("return window.__tetherNoReload") == "still here"
