"""Snapshot tests of every screen at 80x24 and 120x40, on a tiny corpus, without clocks.

Training is scripted (post_scripted_run), the untrained model is seeded, and generation
draws with seed 1, so each screenshot is the same on every run.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from charlm_tui.tui.screens.generate import GenerateScreen
from tests.pilot import scripted_training_screen, wait_until_loaded

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_dataset_screen(snap_compare, make_app, tiny_corpus, size) -> None:
    """The tiny corpus: sizes, split, vocabulary grid, frequency chart, playground, a window."""
    app = make_app(tiny_corpus)
    assert snap_compare(app, terminal_size=size, run_before=wait_until_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_training_screen_mid_run(snap_compare, make_app, tiny_corpus, scripted_run, size) -> None:
    """Six evals of a scripted run: curves, reference lines, the N8 numbers, a sample."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await scripted_training_screen(pilot, scripted_run)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_training_screen_with_an_older_sample(
    snap_compare, make_app, tiny_corpus, scripted_run, size
) -> None:
    """The same run after [ [: the fourth eval's sample, its step marked on the chart."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await scripted_training_screen(
            pilot, scripted_run, "left_square_bracket", "left_square_bracket"
        )

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_training_screen_in_bits_per_char(
    snap_compare, make_app, tiny_corpus, scripted_run, size
) -> None:
    """The same run after u, u: the chart and its reference lines in bits per character."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        # u, u: perplexity -> loss -> bits per char
        await scripted_training_screen(pilot, scripted_run, "u", "u")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_after_typing_and_generating(snap_compare, make_app, tiny_corpus, size) -> None:
    """The untrained model (N7): bars for "Holmes", then 40 generated characters with seed 1."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await wait_until_loaded(pilot)
        await pilot.press("3")  # the console; the seed line has focus
        assert isinstance(pilot.app.screen, GenerateScreen)
        await pilot.press("f8", "f8", "f8")  # length 200 -> 100 -> 50 -> 20
        await pilot.press(*"Holmes")
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"Wat")  # the next seed, with its bars

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_marks_unknown_characters(snap_compare, make_app, tiny_corpus, size) -> None:
    """A seed with characters the tiny corpus never had: marked, named, dropped."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await wait_until_loaded(pilot)
        await pilot.press("3")
        await pilot.press(*"Holmes™ & Zé")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_for_the_console(snap_compare, make_app, tiny_corpus, size) -> None:
    """F1 over the console: its keys (F-keys and plain ones) and the notebook's ideas."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await wait_until_loaded(pilot)
        await pilot.press("3", "f1")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
