"""The run's controls work from the moment it starts, and the screens say its progress once."""

from __future__ import annotations

from charlm_tui.tui.widgets.mode_bar import ModeBar
from tests.pilot import loaded, start_run, until


async def test_pause_before_the_first_step_holds_the_run_at_its_start(
    make_app, tiny_corpus
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        app.screen.query_one("#set-steps").value = "1000000"
        app.screen.action_start()  # s, and p before the run reports anything:
        assert app.training_state == "starting"
        app.screen.action_pause()
        assert app.training_state == "paused"
        await until(pilot, lambda: app.history.started is not None)
        await pilot.pause(0.3)
        held = app.history.step
        await pilot.pause(0.5)
        assert app.history.step == held  # paused: no steps
        await pilot.press("p")
        assert app.training_state == "running"
        await until(pilot, lambda: app.history.step > held)
        await pilot.press("x")
        await until(pilot, lambda: app.training_state == "finished")


async def test_the_steps_show_in_the_mode_bar_except_where_the_screen_shows_them(
    make_app, tiny_corpus
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await start_run(pilot, 1_000_000)
        await until(pilot, lambda: app.history.step > 0)
        await pilot.pause(0.6)  # a tick
        assert "1,000,000" not in " ".join(app.screen.query_one(ModeBar).parts)
        await pilot.press("1")
        await pilot.pause(0.6)
        assert "/1,000,000" in " ".join(app.screen.query_one(ModeBar).parts)
        await pilot.press("2", "x")
        await until(pilot, lambda: app.training_state == "finished")
