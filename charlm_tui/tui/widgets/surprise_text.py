"""Provides the surprise heat-map's pieces: the colour scale, the legend, the coloured text.

Every character's background says how surprised the model was by it (−log2 p, in bits) on
one fixed scale, 0 to SCALE_MAX_BITS and above, so that two models' maps side by side
compare by colour. Characters outside the vocabulary (dropped, as `charlm eval` drops them)
are underlined on their own colour; the first character, which nothing predicts, is dim.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from charlm_tui.core.i18n import _
from charlm_tui.core.surprise import Surprise

SCALE_MAX_BITS = 8.0  # 8 bits: a 1-in-256 guess; everything above is as red as it gets
# expected (0 bits) dark green, 2 bits light green, 4 amber, 6 orange, 8+ red: five stops,
# so that the ramp never passes through a muddy olive between green and amber
STOPS = (
    (0.0, (27, 94, 32)),
    (0.25, (124, 179, 66)),
    (0.5, (249, 168, 37)),
    (0.75, (239, 108, 0)),
    (1.0, (183, 28, 28)),
)
UNKNOWN = Style(color="white", bgcolor=Color.from_rgb(90, 60, 180), underline=True, bold=True)
UNPREDICTED = Style(dim=True)
CONTROL_LABELS = {"\n": "⏎", "\t": "⇥", "\r": "␍"}
LEVELS_PER_BIT = 16  # the colours' resolution: 1/16 bit
LEGEND_CELLS = 16


def scale_rgb(bits: float) -> tuple[int, int, int]:
    """The background of a character with `bits` of surprise (clamped to the scale)."""
    t = min(1.0, max(0.0, bits / SCALE_MAX_BITS))
    for (t0, c0), (t1, c1) in zip(STOPS, STOPS[1:], strict=False):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            r, g, b = (round(a + (z - a) * f) for a, z in zip(c0, c1, strict=True))
            return r, g, b
    return STOPS[-1][1]


def heat_style(bits: float) -> Style:
    """Background from the scale, with black or white text, whichever reads on it."""
    r, g, b = scale_rgb(bits)
    light = 0.299 * r + 0.587 * g + 0.114 * b > 140
    return Style(color="black" if light else "white", bgcolor=Color.from_rgb(r, g, b))


def shown_char(ch: str) -> str:
    """A character as the map draws it, in one cell or two: line breaks and tabs made
    visible, any other unprintable or zero-width character as a middle dot."""
    if ch in CONTROL_LABELS:
        return CONTROL_LABELS[ch]
    # a combining mark alone has no cell of its own to colour
    return ch if ch.isprintable() and cell_len(ch) > 0 else "·"


@lru_cache(maxsize=512)
def _level_style(level: int) -> Style:
    return heat_style(level / LEVELS_PER_BIT)


def char_style(bits: float | None, known: bool) -> Style:
    """The style of one character: unknown, unpredicted, or its surprise on the scale
    (in steps of 1/LEVELS_PER_BIT bit, so that a long text shares a few hundred styles)."""
    if not known:
        return UNKNOWN
    if bits is None:
        return UNPREDICTED
    top = int(SCALE_MAX_BITS * LEVELS_PER_BIT)
    return _level_style(min(top, max(0, round(bits * LEVELS_PER_BIT))))


@dataclass(frozen=True)
class HeatCells:
    """What the map draws for a text: each character's glyph, cell width and style."""

    glyphs: tuple[str, ...]
    widths: tuple[int, ...]
    styles: tuple[Style, ...]
    breaks: frozenset[int]
    """Indices of the characters after which a line ends (line breaks in the text)."""

    @classmethod
    def of(cls, result: Surprise) -> HeatCells:
        """The cells of a scored text: cheap enough to make in the scoring worker."""
        glyphs = tuple(shown_char(ch) for ch in result.text)
        return cls(
            glyphs=glyphs,
            widths=tuple(max(1, cell_len(g)) for g in glyphs),
            styles=tuple(char_style(b, k) for b, k in zip(result.bits, result.known, strict=True)),
            breaks=frozenset(i for i, ch in enumerate(result.text) if ch == "\n"),
        )

    def rows(self, width: int) -> list[tuple[int, int]]:
        """(start, end) character ranges of each row at `width` cells: words wrap whole
        where they fit in a row, a longer one is cut; every character, spaces included,
        keeps its cell (its colour is its surprise)."""
        width = max(1, width)
        rows: list[tuple[int, int]] = []
        start, used, i, n = 0, 0, 0, len(self.glyphs)
        while i < n:
            if self.glyphs[i].isspace() or i in self.breaks:
                end = i + 1  # one space or line break: a token of its own
            else:
                end = i
                while end < n and not self.glyphs[end].isspace() and end not in self.breaks:
                    end += 1
            token = sum(self.widths[i:end])
            if used and used + token > width:
                rows.append((start, i))
                start, used = i, 0
            if token > width:  # a word wider than a row: cut it cell by cell
                for j in range(i, end):
                    if used and used + self.widths[j] > width:
                        rows.append((start, j))
                        start, used = j, 0
                    used += self.widths[j]
            else:
                used += token
            i = end
            if end - 1 in self.breaks:
                rows.append((start, end))
                start, used = end, 0
        if start < n or not rows:
            rows.append((start, n))
        return rows


def legend() -> Text:
    """`0 ████████ 8+ bits  unknown: dropped`, the scale in LEGEND_CELLS cells."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(_("surprise") + " 0 ")
    for i in range(LEGEND_CELLS):
        bits = (i + 0.5) / LEGEND_CELLS * SCALE_MAX_BITS
        text.append(" ", Style(bgcolor=Color.from_rgb(*scale_rgb(bits))))
    text.append(" " + _("{n}+ bits").format(n=int(SCALE_MAX_BITS)) + "  ")
    text.append("x", UNKNOWN)
    text.append(" " + _("not in the vocabulary (dropped)"))
    return text


class SurpriseMap(ScrollView):
    """One model's heat-map of a text (or a line saying why there is none).

    It draws only the rows on screen (the Line API): a pasted chapter of 20,000 characters
    redraws as fast as a sentence, where one Static holding them all took seconds.
    """

    DEFAULT_CSS = """
    SurpriseMap {
        height: 1fr;
        overflow-x: hidden;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.result: Surprise | None = None
        self.cells: HeatCells | None = None
        self.message = ""
        self._rows: list[tuple[int, int]] = []
        self._width = 0

    def show(self, result: Surprise, cells: HeatCells | None = None) -> None:
        """Draw `result`; pass its `HeatCells` when made already (off the UI thread)."""
        self.result = result
        self.cells = cells if cells is not None else HeatCells.of(result)
        self.message = ""
        self._relayout()

    def note(self, message: str) -> None:
        """Words instead of a map: no text yet, no model, an error."""
        self.result = None
        self.cells = None
        self.message = message
        self._relayout()

    @property
    def plain_rows(self) -> list[str]:
        """The rows as drawn, as text (for tests)."""
        if self.cells is None:
            return [self.message] if self.message else []
        return ["".join(self.cells.glyphs[a:b]) for a, b in self._rows]

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width or 40
        self._width = width
        if self.cells is not None:
            self._rows = self.cells.rows(width)
        else:
            self._rows = []
        height = len(self._rows) if self.cells is not None else (1 if self.message else 0)
        self.virtual_size = Size(width, height)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        row = y + round(self.scroll_offset.y)
        width = self._width or self.size.width
        base = self.rich_style
        if self.cells is None:
            if row == 0 and self.message:
                text = Text(self.message, style="italic", no_wrap=True, overflow="ellipsis")
                segments = list(text.render(self.app.console))
                return Strip(segments).apply_style(base).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if row >= len(self._rows):
            return Strip.blank(width, base)
        start, end = self._rows[row]
        cells = self.cells
        segments = [Segment(cells.glyphs[i], base + cells.styles[i]) for i in range(start, end)]
        return Strip(segments).crop_extend(0, width, base)
