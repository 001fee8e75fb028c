"""Accessible names, visible focus, a live log that does not flood, chips with text,
keyboard reach and WCAG AA contrast, checked in Chromium."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import wait
from screen import chip_status, start_from_form, stop_button

CONTRAST = """
function rgb(text) { const m = text.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
function lum(c) { return [c.r, c.g, c.b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
  .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0); }
function background(el) { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0.9) return c; } return {r: 255, g: 255, b: 255, a: 1}; }
const results = [];
for (const el of document.querySelectorAll(arguments[0])) {
  if (!el.offsetParent || !el.textContent.trim()) continue;
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
  results.push([el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '"', (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
}
return results;
"""

TEXT = ".chip-label, button, a, .agent-description, .description, .time, .message, .run-meta, .hint, .recent-time, label, dt, dd, h1, h2, h3, .current-step, .banner, .notice"


def low_contrast(driver):
    return [(name, round(ratio, 2)) for name, ratio in driver.execute_script(CONTRAST, TEXT) if ratio < 4.5]


def test_names_focus_live_log_and_contrast_on_a_run(slow_server, browser):
    start_from_form(browser, slow_server.base, "brief", {"topic": "tide pools"})
    # Every button has an accessible name.
    for button in browser.find_elements(By.TAG_NAME, "button"):
        if button.is_displayed():
            assert (button.text or button.get_attribute("aria-label")).strip(), "a button without a name"
    # The log is a polite live region for additions; status changes are announced by the chip's status region.
    log = browser.find_element(By.ID, "progress-log")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("aria-relevant") == "additions"
    assert log.get_attribute("aria-labelledby") == "progress-heading"
    assert browser.find_element(By.ID, "run-status").get_attribute("role") == "status"
    # A burst of events is marked busy while it lands, so it is announced once.
    wait(browser, lambda d: d.find_element(By.ID, "progress-log").get_attribute("aria-busy") == "true", timeout=30)
    wait(browser, lambda d: d.find_element(By.ID, "progress-log").get_attribute("aria-busy") == "false", timeout=30)
    # Chips carry text, not just colour.
    for chip in browser.find_elements(By.CSS_SELECTOR, ".chip"):
        assert chip.find_element(By.CLASS_NAME, "chip-label").text.strip()
    assert low_contrast(browser) == []
    stop_button(browser).click()
    assert low_contrast(browser) == [], "the disabled Stopping… button is readable too"
    wait(browser, lambda d: chip_status(d) == "stopped")
    assert low_contrast(browser) == []


def test_everything_is_reachable_by_keyboard_with_a_visible_focus(server, browser):
    browser.get(server.base + "/?agent=brief")
    assert browser.execute_script("return [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length") == 0
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    reached = []
    for _ in range(120):
        focused = browser.switch_to.active_element
        reached.append(focused.get_attribute("id") or focused.text)
        if focused.get_attribute("id") == "field-topic":
            focused.send_keys("keyboard only")
        if focused.get_attribute("id") == "run-button":
            style = browser.execute_script(
                "const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth];")
            assert style[0] != "none" and style[1] != "0px", "the focused button shows its focus"
            break
        focused.send_keys(Keys.TAB)
    assert "field-topic" in reached and "run-button" in reached, f"tab order: {reached}"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: "/runs/" in d.current_url, message="Run works from the keyboard")
    assert low_contrast(browser) == []
