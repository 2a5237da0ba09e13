"""Provides Remembered, the app's settings between runs: loaded at start, saved when changed.

A change is saved a moment later (knobs turned in a burst make one write) and at exit.
A settings file that cannot be read or written never stops the app: the problem is told
once, in words, and the settings last for this session.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charlm_tui.core.corpus import CATALOG
from charlm_tui.core.i18n import _
from charlm_tui.core.settings import Settings, default_settings_path, load_settings, save_settings

if TYPE_CHECKING:
    from textual.app import App
    from textual.theme import Theme
    from textual.timer import Timer

    from charlm_tui.tui.options import TuiOptions
    from charlm_tui.tui.presenter import Presenter

SAVE_DELAY_S = 0.5


def usable_corpus(corpus: str | None) -> str | None:
    """The remembered corpus if it can be opened now (a catalog name or an existing file)."""
    if not corpus:
        return None
    if corpus in CATALOG or Path(corpus).is_file():
        return corpus
    return None  # moved or deleted since: the default opens, quietly


class Remembered:
    """The settings an app holds, and their file."""

    def __init__(self, path: Path | None = None, *, enabled: bool = True) -> None:
        """`enabled=False`: the defaults, kept in memory only (a benchmark's app, the
        pictures of the README), so the user's file is neither read nor written."""
        self.path = default_settings_path() if path is None else path
        self.enabled = enabled
        self.settings, self.problem = load_settings(self.path) if enabled else (Settings(), None)
        self._app: App[Any] | None = None
        self._timer: Timer | None = None
        self._save_failed = False
        self._dirty = False

    def attach(self, app: App[Any]) -> None:
        """Save through this app's timers, and tell its user what went wrong."""
        self._app = app

    def corpus_options(self, options: TuiOptions) -> TuiOptions:
        """`options` opening the last session's corpus, if it is still there."""
        corpus = usable_corpus(self.settings.last_corpus)
        if corpus is None:
            return options
        newlines = options.newlines_to_spaces
        if newlines is None:
            newlines = self.settings.last_newlines_to_spaces
        return replace(options, corpus=corpus, newlines_to_spaces=newlines)

    def apply_theme(self, app: App[Any], presenter: Presenter) -> None:
        """The remembered theme, the settings file's problem if any, and a watch that
        remembers the theme the user picks (not the presenter's)."""
        theme = self.settings.theme
        if theme and theme in app.available_themes:
            app.theme = theme
        elif theme:
            app.notify(
                _("The theme {theme} is not available here; using the default.").format(
                    theme=theme
                ),
                severity="warning",
            )
        if self.problem:
            app.notify(self.problem, severity="error", timeout=20)

        def chosen(picked: Theme) -> None:
            if not presenter.made_theme_change(picked.name):  # only the user's own choice
                self.change(theme=picked.name)

        app.theme_changed_signal.subscribe(app, chosen)

    def change(self, **values: object) -> None:
        """Remember new values (Settings field names); saved a moment later."""
        changed = replace(self.settings, **values)  # type: ignore[arg-type]
        if changed == self.settings:
            return
        self.settings = changed
        self._dirty = True
        if self._app is None or not self._app.is_running:
            self.save_now()
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self._app.set_timer(SAVE_DELAY_S, self.save_now)

    def save_now(self) -> bool:
        """Write the settings if they changed; False (and a notice, once) when that fails."""
        self._timer = None
        if not self._dirty or not self.enabled:
            return True
        try:
            save_settings(self.settings, self.path)
        except OSError as exc:
            if not self._save_failed and self._app is not None:
                self._app.notify(
                    _(
                        "Could not save the settings to {path} ({reason}). They last until "
                        "you quit; check that folder can be written."
                    ).format(path=self.path, reason=exc.strerror or exc),
                    severity="warning",
                    timeout=10,
                )
            self._save_failed = True
            return False
        self._dirty = False
        return True
