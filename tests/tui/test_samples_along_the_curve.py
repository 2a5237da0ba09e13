"""Every eval's sample can be brought back beside the chart, which marks its step."""

from __future__ import annotations

from rich.cells import cell_len

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
        heading, sample = shown.split("\n")
        # the heading keeps to one line, so the sample shows in the two rows the box has
        assert cell_len(heading) <= browser.content_region.width and sample == "xq ke,tw"
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


async def test_a_saved_run_opens_with_its_curve_and_samples(make_app, tiny_corpus) -> None:
    """o, a run folder charlm train wrote, Enter: its evals fill the chart and the browser."""
    from charlm_tui.cli import main
    from charlm_tui.core.run_log import read_run_log

    argv = ["train", "--corpus", tiny_corpus, "--steps", "40", "--out", "saved", "--quiet"]
    assert main([*argv, "--threads", "1"]) == 0
    log = read_run_log("saved")
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "o")
        await until(pilot, lambda: app.screen.query("#checkpoint-path"))
        app.screen.query_one("#checkpoint-path").value = "saved/best.safetensors"
        await pilot.press("enter")
        await until(pilot, lambda: len(app.history.evals) == len(log.evals))
        assert app.history.evals == list(log.evals)
        assert app.training_state == "idle"
        browser = app.screen.query_one(SampleBrowser)
        await until(pilot, lambda: "step 40" in str(browser.content))
        message = str(app.screen.query_one("#train-message").content)
        assert "saved" in message and "step 40" in message
        await pilot.press("left_curly_bracket")
        assert app.screen.query_one(PerplexityPlot).marked_step == 10

        await pilot.press("o")  # a folder with no run: said in words, nothing lost
        await until(pilot, lambda: app.screen.query("#checkpoint-path"))
        app.screen.query_one("#checkpoint-path").value = "nowhere"
        await pilot.press("enter")
        await pilot.pause()
        message = str(app.screen.query_one("#train-message").content)
        assert "no run's metrics there" in message
        assert app.history.evals == list(log.evals)
