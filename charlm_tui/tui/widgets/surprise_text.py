"""Provides the surprise heat-map's pieces: the colour scale, the legend, the coloured text.

Every character's background says how surprised the model was by it (−log2 p, in bits) on
one fixed scale, 0 to SCALE_MAX_BITS and above, so that two models' maps side by side
compare by colour. Characters outside the vocabulary (dropped, as `charlm eval` drops them)
are underlined on their own colour; the first character, which nothing predicts, is dim.
"""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

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
    """A character as the map draws it: line breaks and tabs made visible (a ⏎ still
    breaks the line)."""
    if ch == "\n":
        return "⏎\n"
    if ch in CONTROL_LABELS:
        return CONTROL_LABELS[ch]
    return ch if ch.isprintable() else "·"


def heat_text(result: Surprise) -> Text:
    """The text, each character on the colour of its surprise."""
    text = Text()
    for ch, bits, known in zip(result.text, result.bits, result.known, strict=True):
        if not known:
            style = UNKNOWN
        elif bits is None:
            style = UNPREDICTED
        else:
            style = heat_style(bits)
        text.append(shown_char(ch), style)
    return text


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


class SurpriseMap(Static):
    """One model's heat-map of a text (or a line saying why there is none)."""

    DEFAULT_CSS = """
    SurpriseMap {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.result: Surprise | None = None

    def show(self, result: Surprise) -> None:
        self.result = result
        self.update(heat_text(result))

    def note(self, message: str) -> None:
        """Words instead of a map: no text yet, no model, an error."""
        self.result = None
        self.update(Text(message, style="italic"))
