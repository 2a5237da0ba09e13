"""Provides PerplexityPlot: train and val curves against step, with reference lines.

The curves come from the run history the app keeps; the widget only draws. Values are shown
in one of core.metrics.UNITS, and anything non-finite is clamped to the top of the chart
(plotext cannot draw inf).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Literal

from textual.app import RenderResult
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual_plotext import PlotextPlot

from charlm_tui.core.events import EvalCompleted
from charlm_tui.core.i18n import N_, _
from charlm_tui.core.metrics import References, convert
from charlm_tui.tui.widgets.plot_words import PlotWords

UNIT_TITLES = {
    "perplexity": N_("perplexity (characters it is choosing between)"),
    "loss": N_("loss (nats per character)"),
    "bpc": N_("bits per character"),
}

# Markers differ in shape as well as colour, so the chart reads under NO_COLOR.
TRAIN_MARKER = "braille"
VAL_MARKER = "•"
REFERENCE_MARKERS = {"uniform": "─", "unigram": "╌", "bigram": "┄"}


def _ticks(low: int, high: int, count: int) -> list[int]:
    """Up to `count` distinct integer ticks from low to high."""
    if high <= low:
        return [low]
    span = high - low
    return sorted({low + round(span * i / (count - 1)) for i in range(count)})


def _short(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


class PerplexityPlot(PlotextPlot):
    """Train (braille line) and val (dots) against step, with uniform/unigram/bigram lines."""

    DEFAULT_CSS = """
    PerplexityPlot {
        height: 1fr;
        min-height: 6;
    }
    """

    unit: reactive[str] = reactive("perplexity")
    marked_step: reactive[int | None] = reactive(None)
    """The step of the sample the screen shows, when it is not the newest: a vertical line."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._evals: tuple[EvalCompleted, ...] = ()
        self._references: References | None = None
        self._total_steps = 0
        self.render_s = 0.0  # CPU time of the last new picture (the screen paces redraws by it)
        self._drew = False
        self._words = PlotWords()  # the title and axis label of the latest drawing

    def show_run(
        self,
        evals: Sequence[EvalCompleted],
        references: References | None,
        total_steps: int = 0,
    ) -> None:
        """Draw these evals (called by the screen at most a few times a second).

        Nothing new, nothing drawn: a render is costly, and between two evals of a long run
        the screen calls this several times a second.
        """
        shown = (tuple(evals), references, total_steps)
        if shown == (self._evals, self._references, self._total_steps):
            return
        self._evals, self._references, self._total_steps = shown
        self.refresh()

    def watch_unit(self) -> None:
        self.refresh()

    def watch_marked_step(self) -> None:
        self.refresh()

    def _points(self, losses: Sequence[float], ceiling: float) -> list[float]:
        values = []
        for loss in losses:
            value = convert(loss, self.unit) if math.isfinite(loss) else math.inf
            values.append(min(value, ceiling) if math.isfinite(value) else ceiling)
        return values

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        words = self._words = PlotWords()
        plt.title(words.put(_("{unit}   ⠿ train  • val").format(unit=_(UNIT_TITLES[self.unit]))))
        plt.xlabel(words.put(_("step")))
        refs = {}
        if self._references is not None:
            refs = {
                name: convert(getattr(self._references, name), self.unit)
                for name in REFERENCE_MARKERS
            }
        steps = [e.step for e in self._evals]
        finite = [
            v
            for e in self._evals
            for v in (convert(e.train_loss, self.unit), convert(e.val_loss, self.unit))
            if math.isfinite(v)
        ]
        top = max(finite + list(refs.values()) + [1.0])
        uniform = refs.get("uniform", math.inf)
        if math.isfinite(uniform):
            # a diverging run must not squash the curves and the reference lines into the
            # bottom row: anything above twice the uniform guess is drawn at the top
            top = min(top, 2 * uniform)
        ceiling = top * 1.05
        low_step = 0
        high_step = max([self._total_steps, *steps, 1])
        plt.xlim(low_step, high_step)
        plt.ylim(0, ceiling)
        ticks = _ticks(low_step, high_step, 5 if self.size.width >= 50 else 3)
        plt.xticks([float(t) for t in ticks], [f"{t:,}" for t in ticks])
        for name, value in refs.items():
            if not math.isfinite(value):
                continue
            plt.plot([low_step, high_step], [value, value], marker=REFERENCE_MARKERS[name])
            # unigram and bigram can sit a row apart: put their labels at different ends
            align: Literal["center", "right"] = "center" if name == "unigram" else "right"
            x = low_step + (high_step - low_step) / 2 if name == "unigram" else high_step
            plt.text(f"{name} {_short(value)}", x=x, y=value, alignment=align)
        if self.marked_step is not None:
            plt.vline(self.marked_step, color="yellow")
        if steps:
            train = self._points([e.train_loss for e in self._evals], ceiling)
            val = self._points([e.val_loss for e in self._evals], ceiling)
            plt.plot(steps, train, marker=TRAIN_MARKER)
            plt.plot(steps, val, marker=VAL_MARKER)

    def render(self) -> RenderResult:
        self._drew = True
        self._draw()
        return self._words.restore(super().render())  # type: ignore[return-value]

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines of the chart; `render_s` is the CPU time a new picture took this thread,
        from plotext's figure to the styled lines the screen shows. The second half
        (parsing plotext's ANSI, styling 20 rows of braille) cost as much again as the
        figure here. CPU time, not wall time: while a trainer holds the GIL, a render waits
        longer, but it costs the trainer only the time it runs."""
        started = time.thread_time()
        self._drew = False
        lines = super().render_lines(crop)
        if self._drew:
            self.render_s = time.thread_time() - started
        return lines
