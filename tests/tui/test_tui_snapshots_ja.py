"""Snapshot tests of the interface in Japanese at 80x24: wide characters must line up.

The same tiny corpus, scripted run and seeds as test_tui_snapshots.py; the app is built
with lang="ja", as `charlm-tui --lang ja` builds it.
"""

from __future__ import annotations

from textual.pilot import Pilot

from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from tests.pilot import scripted_training_screen, wait_until_loaded

SIZE = (80, 24)


def test_dataset_screen_ja(snap_compare, make_app, tiny_corpus) -> None:
    """The dataset screen: summary, vocabulary, playground and window, in Japanese."""
    app = make_app(tiny_corpus, lang="ja")
    assert snap_compare(app, terminal_size=SIZE, run_before=wait_until_loaded)


def test_training_screen_mid_run_ja(snap_compare, make_app, tiny_corpus, scripted_run) -> None:
    """Six evals of a scripted run, the form, the N8 numbers and a sample, in Japanese."""
    app = make_app(tiny_corpus, lang="ja")

    async def run_before(pilot: Pilot) -> None:
        await scripted_training_screen(pilot, scripted_run)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_console_after_typing_and_generating_ja(snap_compare, make_app, tiny_corpus) -> None:
    """The console in Japanese: the knobs, the bars, a generated turn."""
    app = make_app(tiny_corpus, lang="ja")

    async def run_before(pilot: Pilot) -> None:
        await wait_until_loaded(pilot)
        await pilot.press("3")
        assert isinstance(pilot.app.screen, GenerateScreen)
        await pilot.press("f8", "f8", "f8")  # length 200 -> 100 -> 50 -> 20
        await pilot.press(*"Holmes")
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"Wat")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_for_the_console_ja(snap_compare, make_app, tiny_corpus) -> None:
    """F1 over the console in Japanese: the keys' words and the notebook's ideas."""
    app = make_app(tiny_corpus, lang="ja")

    async def run_before(pilot: Pilot) -> None:
        await wait_until_loaded(pilot)
        await pilot.press("3", "f1")
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
