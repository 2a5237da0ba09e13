"""Provides SampleBrowser: the text sampled at each eval, newest first or one chosen with [ ].

Stepping back through the samples beside the chart shows the text getting better as the
perplexity falls; the chart marks the step of the sample shown (`marked_step`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from charlm_tui.core.events import EvalCompleted
from charlm_tui.core.i18n import _


def one_line(text: str) -> str:
    """Newlines as ⏎, so a sample keeps its shape in a few rows."""
    return text.replace("\n", "⏎")


class SampleBrowser(Static):
    """One eval's sample with its step and val perplexity; follows the newest until browsed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self._evals: tuple[EvalCompleted, ...] = ()
        self.index: int | None = None  # None: follow the newest eval

    @property
    def marked_step(self) -> int | None:
        """The step of the sample shown when it is an older one (the chart marks it)."""
        if self.index is None or not self._evals:
            return None
        return self._evals[self.index].step

    def show_evals(self, evals: Sequence[EvalCompleted]) -> None:
        """Take the run's evals (those with a sample) and draw the one chosen."""
        with_samples = tuple(e for e in evals if e.sample)
        if with_samples == self._evals:
            return
        if len(with_samples) < len(self._evals):  # a new run: follow it from its start
            self.index = None
        self._evals = with_samples
        self._draw()

    def browse(self, delta: int) -> bool:
        """Step to an older (-1) or newer (+1) sample; False when there was nowhere to go."""
        if not self._evals:
            return False
        last = len(self._evals) - 1
        current = last if self.index is None else self.index
        chosen = max(0, min(last, current + delta))
        if chosen == current:
            return False
        self.index = None if chosen == last else chosen
        self._draw()
        return True

    def on_resize(self) -> None:
        self._draw()  # the heading is cut to the width

    def retranslate(self) -> None:
        """Draw the sample's heading again in the language just chosen."""
        self._draw()

    def _draw(self) -> None:
        if not self._evals:
            self.update(
                _("a sample of the model's text appears at each eval"),
                layout=self.styles.is_auto_height,
            )
            return
        position = len(self._evals) - 1 if self.index is None else self.index
        event = self._evals[position]
        # the heading keeps to one line (cut short where narrow), so the sample below it
        # always shows, however few rows the screen can give
        heading = Text()
        heading.append(
            _("step {step:,} · val perplexity {ppl:.1f}").format(
                step=event.step, ppl=event.val_perplexity
            ),
            "bold",
        )
        if len(self._evals) > 1:
            where = _("sample {n}/{total}").format(n=position + 1, total=len(self._evals))
            heading.append(f"  {where}, " + _("[ ] older/newer, { } first/newest"), "dim")
        width = self.content_region.width
        if width:
            heading.truncate(width, overflow="ellipsis")
        text = Text.assemble(heading, "\n", one_line(event.sample or ""))
        self.update(text, layout=self.styles.is_auto_height)  # a fixed height needs no layout
