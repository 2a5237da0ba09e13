"""Provides VocabGrid: the sorted vocabulary laid out as id, character and count.

Spaces, newlines and control characters are drawn visibly (␣ ⏎ U+0007) so that the 83
characters of the notebook's vocabulary can all be seen and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from charlm_tui.core.i18n import _
from charlm_tui.core.vocab import Vocab, describe_char

MAX_CELLS = 600  # a Japanese corpus has ~2,000 characters; the rest are summarised


def short_count(n: int) -> str:
    """9,999 / 52k / 1.2M: a count in at most six cells."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


class VocabGrid(Widget):
    """Every character of the vocabulary with its id and how often it occurs."""

    DEFAULT_CSS = """
    VocabGrid {
        height: auto;
        padding: 0 1;
    }
    VocabGrid > .vocab-grid--char {
        text-style: bold;
        color: $accent;
    }
    VocabGrid > .vocab-grid--id {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {"vocab-grid--char", "vocab-grid--id"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._vocab: Vocab | None = None
        self._counts: Sequence[int] = ()

    def show(self, vocab: Vocab, counts: Sequence[int]) -> None:
        self._vocab = vocab
        self._counts = [int(c) for c in counts]
        self.refresh(layout=True)

    def _cells(self) -> list[tuple[str, str, str]]:
        if self._vocab is None:
            return []
        return [
            (f"{i:>3}", describe_char(ch), short_count(self._counts[i]))
            for i, ch in enumerate(self._vocab.chars[:MAX_CELLS])
        ]

    def _columns(self, width: int) -> int:
        return max(1, (width + 2) // 18)

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        cells = self._cells()
        if not cells:
            return 1
        rows = -(-len(cells) // self._columns(width))
        return rows + (1 if self._vocab and len(self._vocab) > MAX_CELLS else 0)

    def render(self) -> RenderableType:
        cells = self._cells()
        if not cells:
            return Text(_("no corpus loaded"))
        width = self.content_size.width or 80
        columns = self._columns(width)
        rows = -(-len(cells) // columns)
        id_style = self.get_component_rich_style("vocab-grid--id")
        char_style = self.get_component_rich_style("vocab-grid--char")
        text = Text(no_wrap=True, overflow="crop")
        for r in range(rows):
            if r:
                text.append("\n")
            for c in range(columns):
                index = c * rows + r  # column-major: ids read downwards, as in a table
                if index >= len(cells):
                    break
                number, label, count = cells[index]
                pad = max(0, 6 - cell_len(label))
                text.append(number + " ", id_style)
                text.append(label, char_style)
                text.append(" " * pad + f"{count:>6}  ")
        if self._vocab is not None and len(self._vocab) > MAX_CELLS:
            more = _("… and {n:,} more characters").format(n=len(self._vocab) - MAX_CELLS)
            text.append("\n" + more)
        return text
