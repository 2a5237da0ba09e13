"""Provides SeedInput: the console's input line, which marks characters the model never saw.

A paste keeps its newlines as spaces (an Input is one line) and only its last MAX_SEED
characters: the model reads at most its context window anyway, and a 100 KB line would
make every keystroke slow to draw.
"""

from __future__ import annotations

from collections.abc import Container

from rich.highlighter import Highlighter
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Input

MAX_SEED = 2_000


class UnknownCharHighlighter(Highlighter):
    """Reverses and underlines every character outside the vocabulary (visible under NO_COLOR)."""

    def __init__(self) -> None:
        self.known: Container[str] | None = None

    def highlight(self, text: Text) -> None:
        if self.known is None:
            return
        known = self.known
        for i, ch in enumerate(text.plain):
            if ch not in known:
                text.stylize("reverse underline", i, i + 1)


class SeedInput(Input):
    """The seed line: Enter generates from it; unknown characters are marked."""

    class Truncated(Message):
        """A paste was longer than MAX_SEED; only its tail was kept."""

        def __init__(self, pasted: int) -> None:
            super().__init__()
            self.pasted = pasted

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        self._unknown = UnknownCharHighlighter()
        super().__init__(placeholder=placeholder, highlighter=self._unknown, compact=True, id=id)

    def set_vocabulary(self, known: Container[str] | None) -> None:
        self._unknown.known = known
        self.refresh()

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler keeps only the first line
        event.stop()
        text = event.text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ")
        if not text:
            return
        selection = self.selection
        if selection.is_empty:
            new = self.value[: self.cursor_position] + text + self.value[self.cursor_position :]
        else:
            start, end = sorted(selection)
            new = self.value[:start] + text + self.value[end:]
        if len(new) > MAX_SEED:
            self.post_message(self.Truncated(len(new)))
            new = new[-MAX_SEED:]
        self.value = new
        self.cursor_position = len(new)
