"""Provides USER_ERRORS: the exceptions whose message is meant for the user as it is.

Each says what happened and what to do; the CLI prints them as one line and the TUI shows
them on the screen, never as a traceback.
"""

from __future__ import annotations

from charlm_tui.core.checkpoint import CheckpointError
from charlm_tui.core.corpus import CorpusError
from charlm_tui.core.data import CorpusTooSmallError
from charlm_tui.core.run_folder import RunFolderInUse
from charlm_tui.core.train import ConfigError
from charlm_tui.core.vocab import UnknownCharsError

USER_ERRORS: tuple[type[Exception], ...] = (
    CorpusError,
    CheckpointError,
    CorpusTooSmallError,
    UnknownCharsError,
    ConfigError,
    RunFolderInUse,
)
