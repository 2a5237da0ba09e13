"""Provides run_tui, the entry `charlm tui` calls: check the terminal, run the app, report."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TextIO

from charlm_tui.core.i18n import _
from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.terminal import HEADLESS_HINT, why_not_interactive


def run_tui(
    options: TuiOptions | argparse.Namespace | None = None, *, stdout: TextIO | None = None
) -> int:
    """Start the app and return its exit status; 2 (and a hint) without a usable terminal.

    `options` may be the Namespace `charlm tui` parsed.
    """
    out = stdout or sys.stdout
    why = why_not_interactive(out)
    if why is not None:
        print(_(HEADLESS_HINT).format(why=why), file=out)
        return 2
    if isinstance(options, argparse.Namespace):
        options = TuiOptions.from_namespace(options)
    options = replace(options or TuiOptions(), install_signal_handlers=True)
    app = CharLMApp(options)
    app.run()
    if app.result is not None and app.result.reason == "stopped":
        try:
            said = _("charlm-tui: {message} (using charlm train)")
            print(said.format(message=app.result.message), file=out)
        except OSError:  # the terminal hung up (SSH dropped): the checkpoint is saved
            pass
    return int(app.return_code or 0)
