"""Every eval's sample can be brought back beside the chart, which marks its step."""

from __future__ import annotations

from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot
from charlm_tui.tui.widgets.sample_browser import SampleBrowser
from tests.pilot import loaded, until


async def test_brackets_step_through_the_samples_and_the_chart_marks_the_step(
    make_app, tiny_corpus, scripted_run
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        scripted_run(app, app.dataset.vocab.size, evals=6)
        browser = app.screen.query_one(SampleBrowser)
        await until(pilot, lambda: "step 60" in str(browser.content))
        plot = app.screen.query_one(PerplexityPlot)
        shown = str(browser.content)
        assert "step 60" in shown and "the clocks were striking thirteen" in shown
        assert plot.marked_step is None  # following the newest: nothing to mark

        await pilot.press("left_square_bracket", "left_square_bracket")
        shown = str(browser.content)
        assert "step 40" in shown and "sample 4/6" in shown and "xq ke,tw" in shown
        assert plot.marked_step == 40
        # the val perplexity shown is that eval's, e^val_loss
        assert f"{app.history.evals[3].val_perplexity:.1f}" in shown

        for _ in range(10):  # past the oldest: stays there
            await pilot.press("left_square_bracket")
        assert plot.marked_step == 10 and "sample 1/6" in str(browser.content)
        await pilot.press("right_square_bracket")
        assert plot.marked_step == 20

        await pilot.press("right_curly_bracket")  # the newest, following the run again
        assert browser.index is None and plot.marked_step is None
        await pilot.press("left_curly_bracket")  # the first eval's sample
        assert plot.marked_step == 10


async def test_a_new_eval_does_not_move_a_browsed_sample(make_app, tiny_corpus, scripted_run) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        scripted_run(app, app.dataset.vocab.size, evals=3)
        browser = app.screen.query_one(SampleBrowser)
        await until(pilot, lambda: "step 30" in str(browser.content))
        await pilot.press("left_square_bracket")
        assert browser.marked_step == 20
        browser.show_evals(app.history.evals + app.history.evals[-1:])  # one more eval
        assert browser.marked_step == 20
