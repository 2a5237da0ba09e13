"""Provides SteadyFooter: Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from charlm_tui.core.i18n import N_, _, language

KeysShown = tuple[tuple[str, str, str, bool, str], ...]

# Textual's own words in the footer and the palette, so that the catalog has them
TEXTUAL_WORDS = (N_("palette"), N_("Open the command palette"))


def keys_shown(screen: Screen[object]) -> KeysShown:
    """(key, action, description, enabled, tooltip) of each binding a footer would show,
    after the language they are shown in."""
    return (("language", language(), "", True, ""),) + tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )


def translated(widget: Widget) -> Widget:
    """A footer key with its description and tooltip in the current language: the
    bindings hold them in English (marked N_), so a language switch needs no new bindings."""
    if isinstance(widget, FooterKey):
        widget.description = _(widget.description) if widget.description else ""
        if isinstance(widget.tooltip, str) and widget.tooltip:
            widget.tooltip = _(widget.tooltip)
    return widget


class SteadyFooter(Footer):
    """The footer in the current language, recomposed only when what it shows changes.

    Footer rebuilds all its keys whenever the bindings may have changed, which is at every
    change of focus: starting a run moves the focus off Start, and the rebuild of the same
    keys took the UI thread during the run's first steps (docs/performance.md).
    """

    _shown: KeysShown | None = None  # what the last compose showed

    def compose(self) -> ComposeResult:
        self._shown = keys_shown(self.screen) if self._bindings_ready else None
        for widget in super().compose():
            yield translated(widget)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._shown is not None and screen is self.screen and keys_shown(screen) == self._shown:
            return
        super().bindings_changed(screen)
