"""Provides the check that the app has a terminal to draw on, and the hint when it has not."""

from __future__ import annotations

import os
import sys
from typing import TextIO

HEADLESS_HINT = (
    "charlm-tui needs an interactive terminal (this one is {why}); "
    "use the headless CLI instead: charlm train --help"
)


def why_not_interactive(stdout: TextIO) -> str | None:
    """Why the app cannot draw on this terminal, in a few words; None when it can."""
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb"
    try:
        if not stdout.isatty():
            return "not a TTY"
        # Textual draws on stderr: `charlm tui 2>log` would paint the app into the log
        if stdout is sys.stdout and sys.__stderr__ is not None and not sys.__stderr__.isatty():
            return "stderr is not a TTY"
    except (AttributeError, ValueError):
        return "not a TTY"
    return None
