"""Pilot tests of what a person does: load, train, talk to the model, stop, quit.

Training here is real (the notebook's bigram for a few dozen steps on a tiny corpus);
the snapshot tests script it instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import torch
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from charlm_tui.tui.app import FOLLOW_INTERVAL_S
from charlm_tui.tui.model_source import ModelSource
from charlm_tui.tui.screens.dataset import DatasetScreen
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.widgets.next_char_bars import NextCharBars
from charlm_tui.tui.widgets.seed_input import MAX_SEED, SeedInput
from tests.pilot import loaded, open_console, pause_a_long_run, start_run, until


async def keys_while_streaming(pilot: Pilot, *keys: str) -> None:
    """Press keys while a stream runs: Pilot.press waits for the CPU to go idle, which it
    does not while characters stream, so post the key events as the terminal would."""
    for key in keys:
        pilot.app.simulate_key(key)
        await pilot.pause(0.02)


def transcript_text(screen: GenerateScreen) -> str:
    return "\n".join(str(turn.render()) for turn in screen.query(".turn").results(Static))


class SlowModel(torch.nn.Module):
    """Wraps a model so that each generated character takes 5 ms: a stream Esc can catch."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.inner = model
        self.vocab_size = model.vocab_size
        # Unbounded, as an RNN: the Generator memoizes a model that reads one character,
        # and then only the first visit of each character would be slow.
        self.context_size = None

    @property
    def device(self) -> torch.device:
        return self.inner.device

    def init_state(self, batch_size: int = 1):  # noqa: ANN201
        return self.inner.init_state(batch_size)

    def step(self, idx, state):  # noqa: ANN001, ANN201
        time.sleep(0.005)
        return self.inner.step(idx, state)


async def test_load_train_type_generate_stop(make_app, tiny_corpus) -> None:
    """The whole demo: corpus -> train 40 bigram steps -> console -> type -> Enter -> Esc."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert isinstance(app.screen, DatasetScreen)

        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        screen.query_one("#set-steps", Input).value = "40"
        await pilot.press("s")
        await until(pilot, lambda: app.training_state == "finished")
        assert [e.step for e in app.history.evals] == [10, 20, 30, 40]
        assert app.snapshot is not None
        assert app.history.last_checkpoint is not None
        assert Path(app.history.last_checkpoint.path).is_file()

        console = await open_console(pilot)
        assert "as trained, step 40" in console._source.label
        bars = console.query_one(NextCharBars)
        await pilot.press(*"Ho")
        after_o = bars.top_chars
        await pilot.press("l")
        after_l = bars.top_chars
        assert after_o and after_l and after_o != after_l, "the bars follow each keystroke"

        await pilot.press("f9", "f9", "f9", "f9")  # length 200 -> 2000
        console._source = ModelSource(SlowModel(app.snapshot), app.dataset.vocab, "slow")
        await pilot.press("enter")
        await until(pilot, lambda: len(transcript_text(console)) > len("› Hol") + 5)
        await keys_while_streaming(pilot, "escape")
        await until(pilot, lambda: not console.generating, timeout=5)
        await pilot.pause()
        text = transcript_text(console)
        assert "stopped" in text, text
        produced = int(text.split("[")[-1].split(" ")[0])
        assert 0 < produced < 2000


async def test_knobs_change_mid_generation(make_app, tiny_corpus, monkeypatch) -> None:
    """F2 and F4 during a stream reach the characters drawn next, as new options that the
    worker hands to its Generator itself: only that one thread ever touches it."""
    from charlm_tui.tui.screens import generate

    drawn: list[tuple[int, float, int]] = []  # (thread, temperature, top-k) of each char

    class Recorded(generate.Generator):
        def next_char(self) -> str:
            drawn.append((threading.get_ident(), self.options.temperature, self.options.top_k))
            return super().next_char()

    monkeypatch.setattr(generate, "Generator", Recorded)
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        console = await open_console(pilot, "f9", "f9", "f9", "f9")
        source = console._source
        console._source = ModelSource(SlowModel(source.model), source.vocab, "slow")
        await pilot.press("H", "enter")
        await until(pilot, lambda: len(drawn) > 0)
        # temperature 1.0 -> 0.8; top-k off -> 40 -> 20
        await keys_while_streaming(pilot, "f2", "f2", "f4", "f4")
        await until(pilot, lambda: drawn[-1][1:] == (0.8, 20), timeout=5)
        await keys_while_streaming(pilot, "escape")
        await until(pilot, lambda: not console.generating, timeout=5)
    assert drawn[0][1:] == (1.0, 0)
    assert len({thread for thread, _, _ in drawn}) == 1
    assert drawn[0][0] != threading.get_ident(), "the worker draws, not the UI thread"


async def test_unknown_characters_are_marked_and_reported(make_app, tiny_corpus) -> None:
    """Characters outside the vocabulary are named in words and dropped, never a KeyError."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        console = await open_console(pilot, *"Zoë")
        warning = str(console.query_one("#seed-warning", Static).render())
        assert "'Z', 'ë' are not in the vocabulary; dropped" in warning
        seed = console.query_one(SeedInput)
        marked = seed._unknown
        rendered = seed.value
        assert [ch for ch in rendered if ch not in marked.known] == ["Z", "ë"]
        assert console.query_one(NextCharBars).top_chars  # the bars still read "o"
        await pilot.press("enter")
        await app.workers.wait_for_complete()


async def test_a_100kb_paste_does_not_freeze(make_app, tiny_corpus) -> None:
    """A 100 KB paste keeps its last MAX_SEED characters and the bars answer quickly."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("3")
        console = app.screen
        seed = console.query_one(SeedInput)
        pasted = ("the fog rolled down the street.\n" * 3200)[:100_000]
        started = time.monotonic()
        seed.post_message(events.Paste(pasted))
        await pilot.pause()
        assert len(seed.value) == MAX_SEED
        assert "\n" not in seed.value
        await pilot.press("a")
        elapsed = time.monotonic() - started
        assert seed.value.endswith("street. a")
        assert console.query_one(NextCharBars).top_chars
        assert elapsed < 3.0, f"paste and one key took {elapsed:.2f} s"


async def test_quit_while_training_stops_at_a_step_and_saves(
    make_app, tiny_corpus, tmp_path
) -> None:
    """q during a long run: the trainer stops at a step boundary, saves, and the app exits."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await start_run(pilot, 1000000)
        await until(pilot, lambda: app.history.step >= 5)
        await pilot.press("q")
        await until(pilot, lambda: app.history.finished is not None, timeout=10)
        assert app.history.finished.reason == "stopped"
        assert any(c.reason == "stop" for c in app.history.checkpoints)
        await until(pilot, lambda: not app.is_running, timeout=5)
    stops = list((tmp_path / "runs").glob("*/last.safetensors"))
    assert stops, "a checkpoint was written on the way out"


async def test_sigterm_stops_training_and_exits(make_app, tiny_corpus) -> None:
    """The SIGTERM/SIGHUP handler sets the stop flag and leaves; the worker saves and ends."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await start_run(pilot, 1000000)
        await until(pilot, lambda: app.history.step >= 5)
        app._on_signal(15)
        assert app.training_run.control.stop_requested
    # run_test has returned: the UI is gone; the thread ends on its own, promptly, saved
    assert await asyncio.to_thread(app.training_run.done.wait, 10)
    assert app.result is not None and app.result.reason == "stopped"
    assert app.return_code == 128 + 15


async def test_ctrl_c_quits_when_nothing_is_selected(make_app, tiny_corpus) -> None:
    """Ctrl+C in the seed line with no selection quits (Textual 8 would only copy)."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("3", *"Ho", "ctrl+c")
        await until(pilot, lambda: not app.is_running, timeout=5)


async def test_pause_resume_and_save_on_request(make_app, tiny_corpus) -> None:
    """p holds the trainer at a step boundary; w saves there; p again goes on."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pause_a_long_run(pilot)
        # the steps before the pause reach the history at the app's next tick or two
        await pilot.pause(2 * FOLLOW_INTERVAL_S + 0.2)
        held = app.history.step
        await pilot.pause(2 * FOLLOW_INTERVAL_S + 0.2)
        assert app.history.step == held, "no steps while paused"
        saves = len(app.history.checkpoints)
        await pilot.press("w")
        await until(pilot, lambda: len(app.history.checkpoints) > saves, timeout=5)
        await pilot.press("p")
        await until(pilot, lambda: app.history.step > held)
        await pilot.press("x")
        await until(pilot, lambda: app.training_state == "finished", timeout=10)


async def test_every_screen_survives_40x12_and_resizes(make_app, tiny_corpus, scripted_run) -> None:
    """Down to 40x12 and back, on every screen, with a run on the chart: no exception."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(40, 12)) as pilot:
        await loaded(pilot)
        scripted_run(app, app.dataset.vocab.size)
        for key in ("1", "2", "3", "f1", "escape"):
            await pilot.press(key)
            for size in ((40, 12), (120, 40), (41, 13)):
                await pilot.resize_terminal(*size)
                await pilot.pause()
        await pilot.press("escape", "2")  # leave the seed line, go to training
        assert isinstance(app.screen, TrainingScreen)


async def test_load_errors_are_shown_in_words(make_app, tiny_corpus, tmp_path) -> None:
    """A binary file and a missing file: the dataset screen says what happened, no crash."""
    (tmp_path / "blob.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        path_input = app.screen.query_one("#path-input", Input)
        for path, words in (("blob.bin", "binary"), ("missing.txt", "does not exist")):
            path_input.value = path
            path_input.focus()
            await pilot.press("enter")
            await until(pilot, lambda: app.load_error is not None)
            message = str(app.screen.query_one("#dataset-message", Static).render())
            assert words in message, message
        assert app.dataset is not None, "the last good corpus stays loaded"


async def test_settings_are_checked_before_training(make_app, tiny_corpus) -> None:
    """A bad learning rate is refused in words on the training screen; nothing starts."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("2")
        app.screen.query_one("#set-lr", Input).value = "0"
        await pilot.press("s")
        message = str(app.screen.query_one("#train-message", Static).render())
        assert "lr must be a positive number" in message
        assert app.training_state == "idle"


SHARED_CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
needs_corpora = pytest.mark.skipif(
    not SHARED_CORPORA.is_dir(), reason="needs the shared corpora beside the checkout"
)


@needs_corpora
async def test_sherlock_from_the_mirror_gives_the_notebook_numbers(make_app) -> None:
    """Sherlock with newlines as spaces: 83 characters and the notebook's first window (N2, N4)."""
    app = make_app("sherlock")
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert app.dataset.vocab.size == 83
        example = str(app.screen.query_one("#example-batch", Static).render())
        assert "'rip has been upo'" in example and "'ip has been upon'" in example
        playground = str(app.screen.query_one("#playground-result", Static).render())
        assert "'Do you know, Watson,'" in playground


@needs_corpora
async def test_a_download_shows_progress(make_app, tmp_path, monkeypatch) -> None:
    """A corpus fetched from a URL mirror (file://, so offline) reports bytes as they come."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv(
        "CHARLM_CORPUS_MIRROR",
        SHARED_CORPORA.as_uri(),
    )
    app = make_app("shakespeare")
    seen: list[tuple[int, int | None]] = []
    async with app.run_test() as pilot:
        app.watch(app, "load_progress", lambda p: p is not None and seen.append(p))
        await loaded(pilot)
    assert seen, "progress was reported"
    done, total = seen[-1]
    assert total == done == 1_115_394


async def test_a_runs_events_reach_the_history_in_order_in_a_few_messages(
    make_app, tiny_corpus, tmp_path
) -> None:
    """A burst from the run's thread (the notebook's evals and saves, a step between each)
    goes through TrainingRun.report, as the trainer's callback: every eval and save reaches
    the run history in the order it happened, in a few messages (at most one per
    REPORT_INTERVAL_S, besides the start and the end), and the latest step with them."""
    from charlm_tui.core import events as ev
    from charlm_tui.tui.training_run import REPORT_INTERVAL_S, TrainingRun

    app = make_app(tiny_corpus)
    posted: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        post = app.post_message

        def counted(message):  # noqa: ANN001, ANN202
            posted.append(type(message).__name__)
            return post(message)

        app.post_message = counted  # type: ignore[method-assign]
        run = TrainingRun(app, app.train_config, app.dataset, tmp_path / "burst")

        def worker() -> float:
            began = time.monotonic()
            run.report(ev.TrainingStarted(None, "bigram", 1, 2, 500))
            for step in range(1, 501):
                loss = 3.0 - step / 1000
                run.report(ev.StepCompleted(step, 500, loss, 1e-3, step / 100, 100.0))
                run.report(ev.EvalCompleted(step, 500, loss, loss, loss, True, step / 100))
                run.report(ev.CheckpointSaved(step, tmp_path / "last.safetensors", "last"))
            run.report(ev.TrainingFinished(500, "completed", ""))
            return time.monotonic() - began

        took = await asyncio.to_thread(worker)
        await until(pilot, lambda: app.history.finished is not None)
        assert [e.step for e in app.history.evals] == list(range(1, 501))
        assert [c.step for c in app.history.checkpoints] == list(range(1, 501))
        assert app.history.last_step is not None and app.history.last_step.step == 500
        assert app.training_state == "finished"
    run_messages = [name for name in posted if name != "Notify"]  # the app's own toast
    assert run_messages[0] == "TrainingStarted", posted
    assert run_messages[-1] == "TrainingFinished", posted
    assert 1 <= run_messages.count("RunReported") <= 2 + took / REPORT_INTERVAL_S, (posted, took)


async def test_the_footer_is_rebuilt_only_when_the_keys_it_shows_change(
    make_app, tiny_corpus, monkeypatch
) -> None:
    """Starting a run moves the focus off the disabled Start button, which rebuilt the
    footer (0.2-0.35 s of the UI thread) for the same keys; a change of keys still shows."""
    from textual.widgets._footer import FooterKey

    from charlm_tui.tui.widgets.steady_footer import SteadyFooter

    composed: list[str] = []
    compose = SteadyFooter.compose

    def counted(self: SteadyFooter):  # noqa: ANN202
        composed.append(type(self.screen).__name__)
        return compose(self)

    monkeypatch.setattr(SteadyFooter, "compose", counted)
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await pilot.pause()
        composed.clear()
        screen = app.screen
        screen.query_one("#pause").focus()  # a Button's keys are not shown: the same footer
        await pilot.pause()
        screen.query_one("#perplexity-plot").focus()
        await pilot.pause()
        assert composed == []

        console = await open_console(pilot)  # the seed line has focus: 1-3 are typed there
        await pilot.pause()
        assert "Dataset" not in {key.description for key in console.query(FooterKey)}
        await pilot.press("escape")  # leave the seed line: 1 Dataset and the others return
        await pilot.pause()
        assert "Dataset" in {key.description for key in console.query(FooterKey)}


async def test_an_app_that_ends_without_exit_still_stops_its_paused_run(
    make_app, tiny_corpus
) -> None:
    """A failing test's app is torn down without exit(): the run, paused a million steps
    from its end, must still stop, or its thread keeps the process alive."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pause_a_long_run(pilot)
    assert await asyncio.to_thread(app.training_run.done.wait, 10)


async def test_the_chart_takes_a_runs_axes_before_the_run_reports_its_start(
    make_app, tiny_corpus, monkeypatch
) -> None:
    """The chart is drawn for the new run (its steps on the x axis) while the trainer is
    built: a chart render at the run's start took the GIL from its first steps."""
    from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot

    app = make_app(tiny_corpus)
    drawn: list[tuple[int, bool]] = []  # (steps on the x axis, had the run reported)
    render = PerplexityPlot.render

    def recorded(self: PerplexityPlot):  # noqa: ANN202
        drawn.append((self._total_steps, app.history.started is not None))
        return render(self)

    monkeypatch.setattr(PerplexityPlot, "render", recorded)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await start_run(pilot, 40)
        await until(pilot, lambda: app.training_state == "finished")
    assert (40, False) in drawn, drawn


async def test_a_tick_after_the_screens_are_gone_does_nothing(make_app, tiny_corpus) -> None:
    """The app's tick can fire while the app closes, after its screens are popped: it must
    not raise (CI saw ScreenStackError from a run_test teardown at 40x12)."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
    app._follow_run()
