"""The screen with JavaScript: live progress over SSE, Stop states, no reloads."""
import socket
import threading
import time

from selenium.webdriver.common.by import By

from conftest import STOPPING, wait
from screen import chip_status, is_disabled, log_seqs, mark_page, page_was_not_reloaded, run_button, start_from_form, stop_button


def test_stop_is_disabled_before_any_run(server, browser):
    browser.get(server.base + "/")
    assert is_disabled(stop_button(browser))
    assert not is_disabled(run_button(browser))
    assert browser.find_elements(By.ID, "progress-log") == []


def test_run_then_stop_updates_live_and_ends_gray_without_a_reload(server, browser):
    run_id = start_from_form(browser, server.base, "report", {"topic": "urban beekeeping", "audience": "city councillors"})
    mark_page(browser)
    assert not is_disabled(stop_button(browser)), "Stop is enabled while the run is in flight"
    first = len(log_seqs(browser))
    wait(browser, lambda d: len(log_seqs(d)) >= first + 3, message="the progress log grows live")
    assert page_was_not_reloaded(browser)

    # The click itself turns the button into "Stopping…" and disables it, in the same task.
    started = time.perf_counter()
    text, disabled = browser.execute_script(
        "const b = document.getElementById('stop-button'); b.click(); return [b.textContent, b.disabled];")
    assert text == STOPPING and disabled is True
    wait(browser, lambda d: stop_button(d).text == STOPPING)
    print(f"\nclick to 'Stopping…' seen by WebDriver: {(time.perf_counter() - started) * 1000:.0f} ms")

    wait(browser, lambda d: chip_status(d) == "stopped", message="the run ends stopped")
    chip = browser.find_element(By.CSS_SELECTOR, "#run-status .chip")
    assert chip.text == "Stopped"
    assert chip.value_of_css_property("background-color") == "rgba(236, 238, 241, 1)", "gray, never red"
    assert is_disabled(stop_button(browser)) and stop_button(browser).text == "Stop"
    assert page_was_not_reloaded(browser), "everything happened without a reload"
    wait(browser, lambda d: len(log_seqs(d)) == len(server.run(run_id)["events"]))
    assert log_seqs(browser) == list(range(1, len(server.run(run_id)["events"]) + 1))


def test_a_chained_agent_stopped_from_the_parents_page_shows_both_stopped(server, browser):
    run_id = start_from_form(browser, server.base, "brief", {"topic": "tide pools"})
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#subrun-list li"), message="the sub-run appears live")
    stop_button(browser).click()
    wait(browser, lambda d: chip_status(d) == "stopped")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#subrun-list .chip").get_attribute("data-status") == "stopped")
    record = server.run(run_id)
    assert record["status"] == "stopped" and [run["status"] for run in record["runs"]] == ["stopped"]


class CuttableProxy:
    """A loopback TCP proxy whose connections the test can cut, as a network would."""

    def __init__(self, port):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        self.lock = threading.Lock()
        self.open = True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        """Drops every connection in flight; new ones are still accepted."""
        with self.lock:
            doomed, self.sockets = self.sockets, []
        for sock in doomed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def close(self):
        self.open = False
        self.listener.close()
        self.cut()


def test_a_cut_event_stream_resumes_without_losing_or_repeating_an_event(server, browser):
    proxy = CuttableProxy(server.port)
    try:
        base = f"http://127.0.0.1:{proxy.port}"
        run_id = start_from_form(browser, base, "report", {"topic": "tide pools", "audience": "students"})
        mark_page(browser)
        before = len(log_seqs(browser))
        wait(browser, lambda d: len(log_seqs(d)) >= before + 2, message="events arrive through the proxy")
        cut_at = len(log_seqs(browser))
        proxy.cut()
        # The browser reconnects by itself (with Last-Event-ID) and events keep coming.
        wait(browser, lambda d: len(log_seqs(d)) >= cut_at + 4, timeout=90, message="the stream resumes after the cut")
        stop_button(browser).click()
        wait(browser, lambda d: chip_status(d) == "stopped", timeout=90)
        total = len(server.run(run_id)["events"])
        wait(browser, lambda d: len(log_seqs(d)) >= total)
        seqs = log_seqs(browser)
        assert seqs == list(range(1, total + 1)), "no event missing or repeated"
        assert page_was_not_reloaded(browser)
    finally:
        proxy.close()


def test_resume_replays_the_finished_steps_in_one_line_and_goes_on_live(server, browser):
    run_id = start_from_form(browser, server.base, "report", {"topic": "night markets", "audience": "organisers"})
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='llm.finished']")) >= 2,
         message="two LLM calls answered")
    resume_form = browser.find_element(By.ID, "resume-form")
    assert not resume_form.is_displayed(), "no Resume while the run is in flight"
    stop_button(browser).click()
    wait(browser, lambda d: chip_status(d) == "stopped", message="the run ends stopped")
    wait(browser, lambda d: d.find_element(By.ID, "resume-form").is_displayed(), message="Resume appears when it ends")
    paid = sum(1 for event in server.run(run_id)["events"] if event["kind"] == "llm.finished")

    browser.find_element(By.ID, "resume-button").click()
    wait(browser, lambda d: "/runs/" in d.current_url and run_id not in d.current_url, message="Resume leads to the new run")
    resumed_id = browser.current_url.rstrip("/").split("/runs/")[1]
    assert browser.find_element(By.ID, "resumed-from").get_attribute("href").endswith(f"/runs/{run_id}")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='llm.started']")) >= 1,
         message="the run goes on live after the replay")
    lines = browser.find_elements(By.CSS_SELECTOR, "#progress-log li[data-kind='replayed']")
    assert len(lines) == 1, "the replayed steps are one line"
    text = lines[0].find_element(By.CSS_SELECTOR, ".message").text
    assert text.startswith("Replayed ") and f": {paid} LLM calls, " in text and text.endswith(" tokens not paid again"), text
    stop_button(browser).click()
    wait(browser, lambda d: chip_status(d) == "stopped", message="the resumed run stops too")
    record = server.run(resumed_id)
    assert record["resumedFrom"] == run_id
    replayed = [event for event in record["events"] if event["kind"] == "replayed" and event["data"]["boundary"] == "llm"]
    assert len(replayed) == paid, "every answered call came from the journal"


def test_the_usage_line_counts_the_calls_live(server, browser):
    run_id = start_from_form(browser, server.base, "report", {"topic": "seed banks", "audience": "gardeners"})
    mark_page(browser)
    wait(browser, lambda d: d.find_element(By.ID, "run-usage-text").text.startswith("3 LLM calls"),
         message="the usage line counts calls as they finish")
    stop_button(browser).click()
    wait(browser, lambda d: chip_status(d) == "stopped")
    assert page_was_not_reloaded(browser)
    tree = server.run(run_id)["usage"]["tree"]
    text = browser.find_element(By.ID, "run-usage-text").text
    expected = f"{tree['llmCalls']} LLM calls \u00b7 {tree['totalTokens']:,} tokens ({tree['promptTokens']:,} prompt, {tree['completionTokens']:,} completion)"
    assert text.startswith(expected), (text, expected)
    assert "cost" not in text, "no prices, no cost"


def test_a_token_budget_from_the_form_stops_the_run_by_itself_with_the_reason_shown(server, browser):
    run_id = start_from_form(browser, server.base, "report", {"topic": "bat boxes", "audience": "schools"},
                             limits={"tokens": "300"})
    mark_page(browser)
    wait(browser, lambda d: chip_status(d) == "stopped", message="the budget stops the run by itself")
    reason = browser.find_element(By.ID, "stop-reason")
    wait(browser, lambda d: reason.is_displayed(), message="the reason shows when it ends")
    assert reason.text == "Stopped: token budget of 300 reached", reason.text
    assert page_was_not_reloaded(browser)
    record = server.run(run_id)
    assert record["budget"] == {"tokens": 300} and record["stopReason"]["limit"] == "tokens"
    assert record["usage"]["tree"]["totalTokens"] >= 300
    events = record["events"]
    started = [event for event in events if event["kind"] == "llm.started"]
    finished = [event for event in events if event["kind"] == "llm.finished"]
    assert len(started) == len(finished), "the call in flight was answered in full"
    stop = next(event for event in events if event["kind"] == "stop.requested")
    assert stop["data"]["reason"] == "budget" and stop["seq"] > finished[-1]["seq"]
    assert browser.find_element(By.ID, "run-limits").text == "Limits: 300 tokens"


def test_the_call_in_flight_streams_its_text_and_clock_and_a_stop_lets_it_finish(slow_server, browser):
    # Behind nginx the page's stream is often served by an instance that does not execute the
    # run: the executing one publishes the text to it.
    run_id = start_from_form(browser, slow_server.base, "report", {"topic": "moth traps", "audience": "naturalists"})
    mark_page(browser)

    def partial(driver):
        blocks = driver.find_elements(By.CSS_SELECTOR, "#progress-log .answer-in-flight .partial-answer")
        return blocks[0].text if blocks else ""

    wait(browser, lambda d: partial(d) != "", message="the call's text arrives while it is in flight")
    first = partial(browser)
    wait(browser, lambda d: len(partial(d)) > len(first), message="the text grows")
    assert partial(browser).startswith(first)
    wait(browser, lambda d: int(d.find_element(By.CSS_SELECTOR, "#progress-log .answer-in-flight .call-seconds").text or 0) >= 1,
         message="the call's clock runs")
    clock = browser.find_element(By.CSS_SELECTOR, "#progress-log .answer-in-flight .call-clock").text
    assert clock.startswith("LLM call in flight for ") and "tokens so far" in clock, clock

    before_stop = partial(browser)
    stop_button(browser).click()
    wait(browser, lambda d: chip_status(d) == "stopping", message="Stopping…")
    # The stop came about a second into a 4 s call: its text must grow while Stopping….
    wait(browser, lambda d: chip_status(d) == "stopping" and len(partial(d)) > len(before_stop),
         message="the text keeps arriving while stopping")
    wait(browser, lambda d: chip_status(d) == "stopped", message="the run ends stopped after the call")
    assert page_was_not_reloaded(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#progress-log .answer-in-flight") == [], "no call in flight is shown"
    events = slow_server.run(run_id)["events"]
    answers = [event["data"]["text"] for event in events if event["kind"] == "llm.finished"]
    assert answers and answers[-1].startswith(before_stop), "the recorded answer is the streamed text, finished"
