"""Provides CharFrequencyPlot: a plotext bar chart of the most frequent characters.

As many bars as the width allows, most frequent first; spaces and newlines drawn as ␣ ⏎.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from charlm_tui.core.i18n import _
from charlm_tui.core.vocab import Vocab, describe_char
from charlm_tui.tui.widgets.plot_words import PlotWords


class CharFrequencyPlot(PlotextPlot):
    """The share of the text each of the most frequent characters takes, in percent."""

    DEFAULT_CSS = """
    CharFrequencyPlot {
        height: 14;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._vocab: Vocab | None = None
        self._counts: Sequence[int] = ()
        self._words = PlotWords()

    def show(self, vocab: Vocab, counts: Sequence[int]) -> None:
        self._vocab = vocab
        self._counts = [int(c) for c in counts]
        self.refresh()

    def _draw(self) -> None:
        self._words = PlotWords()  # the title of this drawing
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if self._vocab is None or not self._counts:
            plt.title(self._words.put(_("character frequencies: no corpus loaded")))
            return
        total = sum(self._counts) or 1
        # each bar takes about three columns once plotext adds its gaps and the y axis
        fit = max(3, (self.size.width - 8) // 3)
        order = sorted(range(len(self._counts)), key=lambda i: (-self._counts[i], i))[:fit]
        labels = [describe_char(self._vocab.itos[i])[:2] for i in order]
        shares = [100.0 * self._counts[i] / total for i in order]
        if len(order) < len(self._counts):
            title = _("character frequencies, {percent} of the text top {shown} of {size}")
        else:
            title = _("character frequencies, {percent} of the text")
        # the % sign goes in as a value: a bare % in a msgid reads as a format to gettext
        shown = title.format(percent="%", shown=len(order), size=len(self._counts))
        plt.title(self._words.put(shown))
        plt.bar(labels, shares, marker="sd", width=0.6)

    def render(self) -> RenderResult:
        self._draw()
        return self._words.restore(super().render())  # type: ignore[return-value]
