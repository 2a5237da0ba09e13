"""Provides the check that the app has a terminal to draw on, the hint when it has not,
and the watchdog that ends a signalled app whose terminal is gone."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from charlm_tui.core.i18n import N_, _

WATCHDOG_SAVE_S = 60.0  # after a signal: the longest wait for the trainer's final save
WATCHDOG_GRACE_S = 3.0  # then the longest an orderly shutdown may take

HEADLESS_HINT = N_(
    "charlm-tui needs an interactive terminal (this one is {why}); "
    "use the headless CLI instead: charlm train --help"
)


def why_not_interactive(stdout: TextIO) -> str | None:
    """Why the app cannot draw on this terminal, in a few words; None when it can."""
    # textual-serve and textual-web run the app over pipes: their driver is the terminal
    if os.environ.get("TEXTUAL_DRIVER"):
        return None
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb"  # the hint's {why}: said as the variable is spelled
    try:
        if not stdout.isatty():
            return _("not a TTY")
        # Textual draws on stderr: `charlm tui 2>log` would paint the app into the log
        if stdout is sys.stdout and sys.__stderr__ is not None and not sys.__stderr__.isatty():
            return _("stderr is not a TTY")
    except (AttributeError, ValueError):
        return _("not a TTY")
    return None


def end_process_after_save(code: int, saved: threading.Event | None) -> None:
    """End the process with `code` once `saved` is set (or WATCHDOG_SAVE_S has passed) and
    WATCHDOG_GRACE_S more: with its pty closed (an SSH session dropped), Textual's
    shutdown can block for ever on its output thread, leaving an orphan process."""

    def watch() -> None:
        if saved is not None:
            saved.wait(WATCHDOG_SAVE_S)
        time.sleep(WATCHDOG_GRACE_S)
        os._exit(code)

    threading.Thread(target=watch, name="exit-watchdog", daemon=True).start()
