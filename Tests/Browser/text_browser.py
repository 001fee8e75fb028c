"""Driving Lynx, a text-mode browser without JavaScript, as a person at its keyboard would.

Lynx replays keystrokes from a script (`-cmd_script`); it draws with curses, so it runs
under a pseudo-terminal. Links and form fields are reached by number (`-number_fields`:
typing `12g` goes to field 12): the numbers are read from `lynx -dump` of the same page
just before, so the script does not depend on the page's layout."""
import os
import pty
import re
import select
import subprocess
import tempfile
import time

LYNX = "/usr/bin/lynx"


def dump(url, timeout=60):
    """The page as Lynx renders it (with field numbers). HTTP/1.0 without keep-alive: the
    dump only returns once the server closes the connection."""
    result = subprocess.run([LYNX, "-dump", "-number_fields", "-accept_all_cookies", "-width=200", url],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def number_of(page, label):
    """The number Lynx gives the field or link shown as `label`: `[7]report…` for a link,
    `([13]BUTTON) Run` for a button, `topic string [9]___` for a text field."""
    for pattern in (rf"\(\[(\d+)\]BUTTON\) {re.escape(label)}\b",
                    rf"\[(\d+)\]{re.escape(label)}",
                    rf"{re.escape(label)} \w+ \[(\d+)\]_"):
        match = re.search(pattern, page)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no field or link {label!r} on the page:\n{page}")


def keys_to_go_to(number):
    """Keystrokes that make field or link `number` the current one, on a page just loaded."""
    return ["Down Arrow"] * (number - 1)


def type_text(text):
    """Keystrokes typing `text` into the current field (no spaces: a script line's trailing
    space is lost)."""
    assert " " not in text
    return list(text)


def run_session(url, keys, timeout=60):
    """Starts Lynx on `url`, replays `keys` (single characters, or names such as
    "Down Arrow" and "^J" for Enter), then quits; returns once Lynx has exited."""
    with tempfile.NamedTemporaryFile("w", suffix=".lynx", delete=False) as script:
        for key in [*keys, "Q"]:
            script.write(f"key {key}\n")
    try:
        pid, terminal = pty.fork()
        if pid == 0:
            try:
                os.environ["TERM"] = "vt100"
                os.execv(LYNX, [LYNX, "-accept_all_cookies", "-number_fields", f"-cmd_script={script.name}", url])
            finally:
                os._exit(127)
        # Lynx's screen output is read (and dropped) so that it never blocks on a full
        # terminal; the terminal closes when Lynx exits.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 1)
            if ready:
                try:
                    if not os.read(terminal, 65536):
                        break
                except OSError:
                    break
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("lynx did not finish its keystrokes in time")
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
        assert os.waitstatus_to_exitcode(status) == 0, "lynx failed"
    finally:
        os.unlink(script.name)
