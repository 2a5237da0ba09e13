"""Provides SteadyFooter: Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

KeysShown = tuple[tuple[str, str, str, bool, str], ...]


def keys_shown(screen: Screen[object]) -> KeysShown:
    """(key, action, description, enabled, tooltip) of each binding a footer would show."""
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )


class SteadyFooter(Footer):
    """The footer, recomposed only when what it shows changes.

    Footer rebuilds all its keys whenever the bindings may have changed, which is at every
    change of focus: starting a run moves the focus off Start, and the rebuild of the same
    keys took the UI thread during the run's first steps (docs/performance.md).
    """

    _shown: KeysShown | None = None  # what the last compose showed

    def compose(self) -> ComposeResult:
        self._shown = keys_shown(self.screen) if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._shown is not None and screen is self.screen and keys_shown(screen) == self._shown:
            return
        super().bindings_changed(screen)
