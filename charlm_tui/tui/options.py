"""Provides TuiOptions, what `charlm tui` can set, and the torch threads the app trains with."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from charlm_tui.core.corpus import DEFAULT_CORPUS


def default_threads() -> int:
    """Leave one core to the UI: a torch thread per core made each step far slower."""
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class TuiOptions:
    """What `charlm tui` can set; every field has a sensible default."""

    corpus: str = DEFAULT_CORPUS  # a catalog name or a path
    newlines_to_spaces: bool | None = None  # None: on for sherlock (N1), off otherwise
    encoding: str = "utf-8"  # of a local file
    encoding_errors: str = "strict"  # or "replace"
    model: str = "bigram"
    checkpoint: Path | None = None  # open it in the console at start
    runs_root: Path | None = None  # where run folders go (default: the user data dir)
    threads: int | None = None  # torch threads while the UI is up (default: cores - 1)
    device: str = "auto"
    load_on_start: bool = True
    install_signal_handlers: bool = False  # run_tui turns this on
    lang: str | None = None  # en or ja; None: the settings, else LC_ALL / LC_MESSAGES / LANG
    corpus_from_settings: bool = False  # open the remembered corpus instead (no --corpus)
    settings_path: Path | None = None  # the settings file (default: the user config dir)
    remember: bool = True  # False: the default settings, the file neither read nor written
    present: bool = False  # start in presenter mode (--present)
    tour: bool = False  # open on the notebook tour (charlm-tui --tour)

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> TuiOptions:
        """From `charlm tui`'s parsed arguments (any it lacks keep their defaults)."""
        given = vars(args)
        options = cls()
        for name in ("corpus", "encoding", "threads", "model", "device", "lang"):
            if given.get(name) is not None:
                setattr(options, name, given[name])
        if given.get("encoding_errors"):
            options.encoding_errors = given["encoding_errors"]
        if given.get("newlines_to_spaces") is not None:
            options.newlines_to_spaces = given["newlines_to_spaces"]
        for name in ("checkpoint", "runs_root"):
            if given.get(name):
                setattr(options, name, Path(given[name]))
        if given.get("tour"):
            options.tour = True
        if given.get("out"):
            options.runs_root = Path(given["out"])
        options.corpus_from_settings = given.get("corpus") is None
        options.present = bool(given.get("present"))
        return options
