"""Provides ModeBar: the one-line top bar with the screens' keys and what the app is doing."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

MODES = (("1", "dataset", "Dataset"), ("2", "training", "Train"), ("3", "console", "Console"))


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
        self.status = ""

    def set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.refresh()

    def render(self) -> RenderableType:
        current = self.get_component_rich_style("mode-bar--current")
        key_style = self.get_component_rich_style("mode-bar--key")
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, mode, label in MODES:
            text.append(" ")
            if mode == self.current:
                text.append(f" {key} {label} ", current)
            else:
                text.append(f" {key}", key_style)
                text.append(f" {label} ")
        if self.status:
            text.append("  " + self.status)
        return text
