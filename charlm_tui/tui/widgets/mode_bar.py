"""Provides ModeBar: the one-line top bar with the screens' keys and what the app is doing."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from charlm_tui.core.i18n import N_, _

MODES = (
    ("1", "dataset", N_("Dataset")),
    ("2", "training", N_("Train")),
    ("3", "console", N_("Console")),
)
STATUS_SEPARATOR = " │ "


class ModeBar(Widget):
    """`1 Dataset  2 Train  3 Console` (the current one reversed), then a status line."""

    DEFAULT_CSS = """
    ModeBar {
        height: 1;
        width: 1fr;
        background: $panel;
    }
    ModeBar > .mode-bar--current {
        text-style: reverse bold;
    }
    ModeBar > .mode-bar--key {
        text-style: bold;
        color: $accent;
    }
    """

    COMPONENT_CLASSES = {"mode-bar--current", "mode-bar--key"}

    def __init__(self, current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current
        self.parts: tuple[str, ...] = ()

    def set_status(self, *parts: str) -> None:
        """What the app is doing, least important part first: a narrow bar drops parts
        from the front (80 columns cannot show the corpus and a run's step count)."""
        if parts != self.parts:
            self.parts = parts
            self.refresh()

    def _fitting_status(self, room: int) -> str:
        for start in range(len(self.parts)):
            status = STATUS_SEPARATOR.join(self.parts[start:])
            if cell_len(status) <= room:
                return status
        return self.parts[-1]  # not even the last part fits: the ellipsis cuts it

    def render(self) -> RenderableType:
        current = self.get_component_rich_style("mode-bar--current")
        key_style = self.get_component_rich_style("mode-bar--key")
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, mode, msgid in MODES:
            label = _(msgid)
            text.append(" ")
            if mode == self.current:
                text.append(f" {key} {label} ", current)
            else:
                text.append(f" {key}", key_style)
                text.append(f" {label} ")
        if self.parts:
            text.append("  " + self._fitting_status(self.size.width - text.cell_len - 2))
        return text
