"""Provides TourText, the tour's explanation column, and wrap_cjk, the line breaking it uses
for Japanese: Rich breaks a run of Japanese anywhere, so a line could start with 、 or 。
and a number such as 562,213 could be cut in two.

wrap_cjk keeps ASCII runs (numbers, code such as stoi or e^-loss) whole where they fit, and
never starts a line with closing punctuation or a long-vowel mark (kinsoku): the character
before it moves down with it.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Static

# a unit of line breaking: a run of non-space ASCII, a run of spaces, or one other character
UNIT = re.compile(r"[!-~]+| +|\n|.", re.DOTALL)
NO_LINE_START = set("、。,.:;!?)]}」』】〕〉》ー…・％%:;!?)")
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def wrap_cjk(text: str, width: int) -> list[str]:
    """`text` broken into lines of at most `width` cells, Japanese rules (see the module)."""
    width = max(2, width)
    lines: list[list[str]] = [[]]
    used = 0
    for unit in UNIT.findall(text):
        if unit == "\n":
            lines.append([])
            used = 0
            continue
        size = cell_len(unit)
        if used + size <= width:
            if unit.isspace() and not lines[-1]:
                continue  # no space at the start of a line
            lines[-1].append(unit)
            used += size
            continue
        if unit.isspace():  # a space at the end of a line is the break itself
            lines.append([])
            used = 0
            continue
        carried: list[str] = []
        last = lines[-1][-1] if len(lines[-1]) > 1 else ""
        if unit[0] in NO_LINE_START and last and cell_len(last) + size <= width:
            carried = [lines[-1].pop()]  # its neighbour moves down with it
        while size > width:  # a run longer than a line is folded
            head, unit = _fold(unit, width - sum(cell_len(u) for u in carried))
            lines.append([*carried, head])
            carried = []
            size = cell_len(unit)
        lines.append([*carried, unit])
        used = sum(cell_len(u) for u in lines[-1])
    return ["".join(line).rstrip() for line in lines]


def _fold(unit: str, width: int) -> tuple[str, str]:
    """The part of `unit` that fits `width` cells (at least one character), and the rest."""
    used = 0
    for i, ch in enumerate(unit):
        used += cell_len(ch)
        if used > width:
            return unit[: max(1, i)], unit[max(1, i) :]
    return unit, ""


class TourText(Static):
    """A title and a few sentences, the sentences broken with wrap_cjk when they hold
    Japanese (Rich wraps anything else as usual)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.title = ""
        self.words = ""

    def show(self, title: str, words: str) -> None:
        if (title, words) != (self.title, self.words):
            self.title, self.words = title, words
            self.refresh(layout=True)

    def render(self) -> RenderableType:
        text = Text()
        text.append(self.title + "\n\n", "bold")
        width = self.content_region.width or self.size.width
        if CJK.search(self.words) and width > 0:
            text.append("\n".join(wrap_cjk(self.words, width)))
        else:
            text.append(self.words)
        return text
