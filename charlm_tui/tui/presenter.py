"""Provides presenter mode: no chrome, the content as large as the terminal allows, high
contrast, and the tour's step in a corner, for a talk on a projector (v, Shift+F5).

The app carries the CSS class `-present` while it is on; app.tcss hides the mode bar, the
footer and the side panels under it. A high-contrast theme (white on black) replaces the
user's theme for the while, and theirs comes back after, unsaved and untouched.

The step counter's contract (the tour's screens): a screen with an attribute `tour_position`
that gives `(step, total)` (1-based), or None when it has no step to show, gets "step/total"
in its top-right corner while presenting; a method of that name is called. It is read
twice a second, so a screen only has to keep it current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.app import App

PRESENT_CLASS = "-present"
STEP_INTERVAL_S = 0.5  # how often the step counter reads the screen's tour_position

PRESENT_THEME = Theme(
    name="charlm-present",
    primary="#FFD700",
    secondary="#00E5FF",
    accent="#FFD700",
    warning="#FFD700",
    error="#FF6060",
    success="#40FF40",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    dark=True,
    variables={
        "text-muted": "#D0D0D0",  # dim grey washes out on a projector
        "footer-background": "#000000",
        "block-cursor-background": "#FFD700",
        "block-cursor-foreground": "#000000",
    },
)


def tour_position(screen: object) -> tuple[int, int] | None:
    """The screen's (step, total) per the contract above; None when it has none (or a bad one)."""
    position = getattr(screen, "tour_position", None)
    if callable(position):
        position = position()
    if (
        isinstance(position, tuple)
        and len(position) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in position)
    ):
        return position
    return None


class StepCounter(Static):
    """`3/12` in the top-right corner of a screen, over whatever is drawn there."""

    SCOPED_CSS = False  # its second rule looks at the app's class

    DEFAULT_CSS = """
    StepCounter {
        position: absolute;
        overlay: screen;
        constrain: inside inside;
        offset: 999 0;
        width: auto;
        height: 1;
        padding: 0 1;
        background: $primary;
        color: $background;
        text-style: bold;
        display: none;
    }
    /* one left on a screen presenter mode has since left stays out of sight */
    .-present StepCounter {
        display: block;
    }
    """


class Presenter:
    """Turns presenter mode on and off for an app, and keeps the step counter current."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.active = False
        self._theme_before: str | None = None
        self._restored: str | None = None  # the user's theme, put back on leaving
        self._timer: Timer | None = None

    def toggle(self) -> None:
        self.set(not self.active)

    def set(self, on: bool) -> None:
        """Enter (True) or leave (False) presenter mode; nothing when already so."""
        if on == self.active:
            return
        app = self.app
        if on:
            if PRESENT_THEME.name not in app.available_themes:
                app.register_theme(PRESENT_THEME)
            self.active = True  # first: the theme watcher must not save this theme
            self._theme_before = app.theme
            app.theme = PRESENT_THEME.name
            app.add_class(PRESENT_CLASS)
            self._timer = app.set_interval(STEP_INTERVAL_S, self.show_step)
        else:
            app.remove_class(PRESENT_CLASS)
            if self._theme_before is not None and app.theme == PRESENT_THEME.name:
                self._restored = self._theme_before
                app.theme = self._theme_before
            self.active = False  # last, for the same reason
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
        self.show_step()

    def made_theme_change(self, name: str) -> bool:
        """Whether a theme change (its signal comes later) was this mode's, not the user's."""
        if self.active or name == PRESENT_THEME.name:
            return True
        if name == self._restored:
            self._restored = None
            return True
        return False

    def show_step(self) -> None:
        """Put the screen's step in its corner (presenting, with a position), else none."""
        try:
            screen = self.app.screen
        except Exception:  # no screen while the app closes
            return
        position = tour_position(screen) if self.active else None
        counters = list(screen.query(StepCounter))
        if position is None:
            for counter in counters:
                counter.remove()
            return
        text = f"{position[0]}/{position[1]}"
        if counters:
            counters[0].update(text)
        elif isinstance(screen, Screen):
            screen.mount(StepCounter(text))
