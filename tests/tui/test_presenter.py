"""Presenter mode: F12 (or --present) hides the chrome and the side panels, high contrast,
the tour's step in a corner; F12 again brings it all back, the user's theme too."""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from charlm_tui.core.settings import load_settings
from charlm_tui.tui.presenter import PRESENT_CLASS, PRESENT_THEME, StepCounter, tour_position
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.widgets.mode_bar import ModeBar
from charlm_tui.tui.widgets.steady_footer import SteadyFooter
from tests.pilot import loaded, scripted_training_screen

AT_80x24 = (80, 24)


async def test_v_toggles_presenter_mode_and_the_footer_comes_back(make_app, tiny_corpus) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=AT_80x24) as pilot:
        await loaded(pilot)
        app.theme = "nord"
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        assert screen.query_one(SteadyFooter).display and screen.query_one(ModeBar).display
        await pilot.press("v")
        assert app.has_class(PRESENT_CLASS) and app.theme == PRESENT_THEME.name
        assert screen.query_one(SteadyFooter).region.height == 0
        assert screen.query_one(ModeBar).region.height == 0
        assert screen.query_one("#train-form").region.height == 0
        plot = screen.query_one("#perplexity-plot").region
        assert plot.width == 80 and plot.height >= 14  # the chart takes the terminal
        await pilot.press("3")  # the mode stays on from screen to screen
        assert app.screen.query_one("#next-char-bars").region.width == 0
        await pilot.press("shift+f5")  # v would be typed in the seed line: the clicker's key
        await pilot.pause()
        assert not app.has_class(PRESENT_CLASS) and app.theme == "nord"
        assert app.screen.query_one(SteadyFooter).region.height == 1
        assert app.screen.query_one("#next-char-bars").region.width > 0
    assert load_settings()[0].theme == "nord"  # the presenter's theme is never saved


async def test_present_option_starts_in_presenter_mode(make_app, tiny_corpus) -> None:
    """--present; leaving it puts the default theme back, which is not saved as a choice."""
    app = make_app(tiny_corpus, present=True)
    async with app.run_test(size=AT_80x24) as pilot:
        await loaded(pilot)
        assert app.has_class(PRESENT_CLASS)
        assert app.screen.query_one(SteadyFooter).region.height == 0
        await pilot.press("shift+f5")  # a clicker's key
        await pilot.pause()
        assert not app.has_class(PRESENT_CLASS) and app.theme == "textual-dark"
        await pilot.press("3", "f3")  # a setting saved, so the file is written
        await pilot.pause(0.8)
    assert load_settings()[0].theme is None
    assert load_settings()[0].temperature == 1.1


async def test_the_key_is_in_help_and_the_palette(make_app, tiny_corpus) -> None:
    from charlm_tui.tui.commands import CharLMCommands
    from charlm_tui.tui.screens.help import HelpScreen

    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        hits = [hit async for hit in CharLMCommands(app.screen).discover()]
        found = {str(hit.display): hit.help for hit in hits}
        title = next(t for t in found if t.startswith("Presenter mode"))
        assert found[title].lower() == "shift+f5 / v, anywhere"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        for static in app.screen.query(Static):
            console.print(static.content)
        assert re.search(r"shift\+f5 / v +Presenter mode", console.export_text(), re.I)


async def test_the_step_counter_follows_the_screens_tour_position(make_app, tiny_corpus) -> None:
    """The contract with the tour: `tour_position` -> (step, total) or None."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=AT_80x24) as pilot:
        await loaded(pilot)
        screen = app.screen
        screen.tour_position = (3, 12)  # type: ignore[attr-defined]
        app.presenter.show_step()
        assert not screen.query(StepCounter)  # only while presenting
        await pilot.press("v")
        await pilot.pause()
        counter = screen.query_one(StepCounter)
        assert str(counter.render()) == "3/12"
        assert counter.region.right == 80 and counter.region.y == 0  # the top-right corner
        screen.tour_position = (4, 12)  # type: ignore[attr-defined]
        await pilot.pause(0.7)  # read twice a second
        assert str(counter.render()) == "4/12"
        screen.tour_position = None  # type: ignore[attr-defined]
        await pilot.pause(0.7)
        assert not screen.query(StepCounter)
        screen.tour_position = lambda: (1, 2)  # type: ignore[attr-defined]
        await pilot.pause(0.7)
        assert str(screen.query_one(StepCounter).render()) == "1/2"
        await pilot.press("v")
        await pilot.pause()
        assert not screen.query(StepCounter)
        await pilot.press("v", "2", "v", "1")  # left on another screen: out of sight
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one(StepCounter).region.width == 0


def test_tour_position_takes_only_a_pair_of_whole_numbers() -> None:
    class Screen:
        tour_position: object = None

    s = Screen()
    for bad in (None, (1,), ("1", "2"), (True, 2), [1, 2]):
        s.tour_position = bad
        assert tour_position(s) is None
    s.tour_position = (2, 5)
    assert tour_position(s) == (2, 5)
    assert tour_position(object()) is None


# --- snapshots at 80x24 -------------------------------------------------------------------


def test_presenter_training_mid_run(snap_compare, make_app, tiny_corpus, scripted_run) -> None:
    """The scripted run of test_tui_snapshots, presented: the chart and the N8 numbers only."""
    app = make_app(tiny_corpus, present=True)

    async def run_before(pilot: Pilot) -> None:
        await scripted_training_screen(pilot, scripted_run)

    assert snap_compare(app, terminal_size=AT_80x24, run_before=run_before)


def test_presenter_console_with_generated_text(snap_compare, make_app, tiny_corpus) -> None:
    """The untrained model's 50 characters from "Holmes" (seed 1), presented."""
    app = make_app(tiny_corpus, present=True)

    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        await pilot.press("3")
        assert isinstance(pilot.app.screen, GenerateScreen)
        await pilot.press("f8", "f8")  # length 200 -> 100 -> 50
        await pilot.press(*"Holmes", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=AT_80x24, run_before=run_before)


def test_presenter_step_counter_snapshot(snap_compare, make_app, tiny_corpus) -> None:
    """A tour screen's step in the corner, over the dataset screen."""
    app = make_app(tiny_corpus, present=True)

    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        pilot.app.screen.tour_position = (3, 12)
        pilot.app.presenter.show_step()
        await pilot.pause()

    assert snap_compare(app, terminal_size=AT_80x24, run_before=run_before)
