"""Provides PlotWords: titles and axis labels with wide characters for a plotext chart.

plotext gives every character one cell, so a Japanese title (two cells a character)
overflowed its line and pushed the chart down a row. plotext is handed a run of
placeholders as wide as the words instead, and the drawn chart gets the words back.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

# private-use characters: never in a title, one cell each to plotext and to Rich
PLACEHOLDERS = ("\ue000", "\ue001", "\ue002")


class PlotWords:
    """The words of one drawing of a chart: `put` them in plotext, `restore` the picture."""

    def __init__(self) -> None:
        self._words: dict[str, str] = {}

    def put(self, words: str) -> str:
        """What to hand plotext for `words`: themselves when every character is one cell
        wide (English is drawn as before), else placeholders as wide as they are."""
        if cell_len(words) == len(words):
            return words
        mark = PLACEHOLDERS[len(self._words) % len(PLACEHOLDERS)]
        self._words[mark] = words
        return mark * cell_len(words)

    def restore(self, picture: object) -> object:
        """The drawn chart with the words in place of their placeholders (cut to the room
        plotext left them when the chart is narrower than the words)."""
        if not self._words or not isinstance(picture, Text):
            return picture
        plain = picture.plain
        pieces: list[Text] = []
        start = 0
        i = 0
        while i < len(plain):
            mark = plain[i]
            if mark in self._words:
                end = i
                while end < len(plain) and plain[end] == mark:
                    end += 1
                pieces.append(picture[start:i])
                drawn = picture[i:end]  # the placeholders, with plotext's colours
                style = drawn.spans[0].style if drawn.spans else drawn.style
                words = Text(self._words[mark], style=style)
                words.truncate(end - i, pad=True)
                pieces.append(words)
                start = i = end
            else:
                i += 1
        pieces.append(picture[start:])
        restored = Text("", end=picture.end, no_wrap=picture.no_wrap)
        for piece in pieces:
            restored.append_text(piece)
        return restored
