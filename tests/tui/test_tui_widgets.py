"""Tests of single widgets: the chart survives inf/NaN, the bars and the knobs read right."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from rich.text import Text
from textual.app import App, ComposeResult

from charlm_tui.core.events import EvalCompleted
from charlm_tui.core.metrics import References
from charlm_tui.core.vocab import Vocab
from charlm_tui.tui.screens.generate import LENGTHS, TOP_KS, _next_in
from charlm_tui.tui.widgets.next_char_bars import NextCharBars, bar
from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot


def evaluation(step: int, train: float, val: float) -> EvalCompleted:
    return EvalCompleted(
        step=step,
        total_steps=30,
        train_loss=train,
        val_loss=val,
        best_val_loss=val,
        is_best=False,
        elapsed_s=0.0,
    )


class OneWidget(App[None]):
    def __init__(self, widget) -> None:  # noqa: ANN001
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def test_chart_draws_inf_and_nan_without_crashing() -> None:
    """A diverged run (inf, then NaN) draws at the top of the chart in every unit."""
    plot = PerplexityPlot()
    refs = References(uniform=math.log(35), unigram=3.1, bigram=2.9)
    async with OneWidget(plot).run_test(size=(60, 16)) as pilot:
        evals = [
            evaluation(10, 3.0, 3.1),
            evaluation(20, math.inf, 900.0),
            evaluation(30, math.nan, math.nan),
        ]
        for unit in ("perplexity", "loss", "bpc"):
            plot.unit = unit
            plot.show_run(evals, refs, total_steps=30)
            await pilot.pause()
            text = Text.from_ansi(plot.plt.build()).plain  # what render() drew
            assert "uniform" in text and "bigram" in text


async def test_the_chart_times_a_new_picture_in_cpu_and_not_its_cached_lines(
    monkeypatch,
) -> None:
    """`render_s` paces the chart's redraws during a run: it is the CPU time of the last
    new picture, the styling of its lines included, but not time spent waiting (for the
    GIL, while a trainer holds it); lines served from the cache leave it alone."""
    from textual.visual import Visual

    to_strips = Visual.to_strips

    def costly(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if isinstance(args[0], PerplexityPlot):
            time.sleep(0.3)  # waiting: costs nobody CPU
            spin_until = time.thread_time() + 0.05
            while time.thread_time() < spin_until:  # styling the lines: 50 ms of CPU
                pass
        return to_strips(*args, **kwargs)

    monkeypatch.setattr(Visual, "to_strips", staticmethod(costly))
    plot = PerplexityPlot()
    refs = References(uniform=math.log(35), unigram=3.1, bigram=2.9)
    async with OneWidget(plot).run_test(size=(60, 16)) as pilot:
        plot.show_run([evaluation(10, 3.0, 3.1)], refs, total_steps=30)
        await pilot.pause()
        drawn = plot.render_s
        assert 0.05 <= drawn < 0.3, drawn
        plot.render_lines(plot.region.reset_offset)  # from the cache: no new picture
        assert plot.render_s == drawn


def test_bar_is_drawn_in_eighths() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██"
    assert bar(1 / 32, 4) == "▏"
    assert bar(0.0, 4) == ""


async def test_bars_show_the_most_likely_first() -> None:
    """Top characters by probability, with spaces made visible and the entropy in bits."""
    vocab = Vocab.from_text("ab c")
    probs = torch.tensor([0.5, 0.1, 0.15, 0.25])  # ' ', 'a', 'b', 'c'
    bars = NextCharBars()
    async with OneWidget(bars).run_test(size=(40, 8)) as pilot:
        bars.show(probs, vocab, entropy_bits=1.74)
        await pilot.pause()
        assert [ch for ch, _ in bars.top_chars] == [" ", "c", "b", "a"]
        rendered = str(bars.render())
        assert "entropy 1.74 bits" in rendered and "␣" in rendered and "50.0%" in rendered


def test_knob_steps_clamp_and_order() -> None:
    """top-k goes 1..40 then off (all characters); lengths clamp at both ends."""
    assert _next_in(TOP_KS, 0, -1) == 40  # off -> the largest k
    assert _next_in(TOP_KS, 40, 1) == 0  # the largest k -> off
    assert _next_in(TOP_KS, 1, -1) == 1
    assert _next_in(TOP_KS, 7, 1) == 10  # a value set elsewhere steps to its neighbour
    assert _next_in(LENGTHS, LENGTHS[-1], 1) == LENGTHS[-1]
    assert _next_in(LENGTHS, LENGTHS[0], -1) == LENGTHS[0]


def test_the_run_history_shows_the_latest_step_heard_of() -> None:
    """Step messages are thinned to a few a second; evals and saves are not: the progress
    line and the mode bar must not lag behind the sample and the checkpoint note."""
    from charlm_tui.core import events as ev
    from charlm_tui.tui.session import RunHistory

    history = RunHistory()
    assert history.step == 0
    history.record(ev.TrainingStarted(None, "bigram", 1, 2, 1000, start_step=100))
    assert history.step == 100
    history.record(ev.StepCompleted(241, 1000, 2.5, 1e-3, 1.0, 100.0))
    history.record(ev.EvalCompleted(320, 1000, 2.5, 2.6, 2.6, True, 1.2))
    assert history.step == 320
    history.record(ev.CheckpointSaved(330, Path("last.safetensors"), "stop"))
    assert history.step == 330


def test_a_run_has_its_total_before_it_reports_its_start() -> None:
    """The app knows the steps it started a run for; the run's own report wins after."""
    from charlm_tui.core import events as ev
    from charlm_tui.tui.session import RunHistory

    history = RunHistory(planned_steps=1000)
    assert history.total_steps == 1000
    history.record(ev.TrainingStarted(None, "bigram", 1, 2, 1200))
    assert history.total_steps == 1200
