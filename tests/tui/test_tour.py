"""The notebook tour: snapshots of its eleven steps in English and Japanese at 80x24, and
pilot tests of its keys, its entry points and the numbers it shows against the core's.

The tour runs on Sherlock from the shared corpora (CHARLM_CORPUS_MIRROR), as the notebook
does. Its training step starts the app's own run; here TrainingRun.start replays a real
notebook-recipe run, trained once per module with a seeded Trainer, as the messages a
TrainingRun posts (half of it for the training step, all of it with the trained weights
for the steps after), so every screenshot is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import torch
import torch.nn.functional as F
from textual.pilot import Pilot
from textual.widgets import Static

from charlm_tui.cli import build_parser
from charlm_tui.core import events
from charlm_tui.core.corpus import load_corpus
from charlm_tui.core.data import random_window
from charlm_tui.core.i18n import set_language
from charlm_tui.core.models import CharModel, build_model
from charlm_tui.core.train import TrainConfig, Trainer
from charlm_tui.tui import messages
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.screens.dataset import DatasetScreen
from charlm_tui.tui.screens.tour import STEPS, TRAINING_STEP, TourScreen
from charlm_tui.tui.training_run import TrainingRun
from tests.conftest import needs_corpora
from tests.tui.test_first_contact_offline import offline  # noqa: F401 (a fixture)

pytestmark = needs_corpora

STEP_IDS = [pytest.param(n, id=f"step{n:02}") for n in range(1, len(STEPS) + 1)]


@dataclass(frozen=True)
class Replay:
    """A real notebook-recipe run on Sherlock: its events in order and its final weights."""

    started: events.TrainingStarted
    reported: list[events.StepCompleted | events.EvalCompleted]
    finished: events.TrainingFinished
    model: CharModel


@pytest.fixture(scope="module")
def notebook_run() -> Replay:
    """The notebook recipe on Sherlock, trained once for the module (a second or two)."""
    corpus = load_corpus("sherlock", newlines_to_spaces=True)
    seen: list[events.TrainingEvent] = []
    trainer = Trainer(
        replace(TrainConfig.defaults_for("bigram"), threads=1),
        corpus.text,
        on_event=seen.append,
    )
    trainer.run()
    started = next(e for e in seen if isinstance(e, events.TrainingStarted))
    finished = next(e for e in seen if isinstance(e, events.TrainingFinished))
    # the last step before each eval, and the eval, as a RunReported carries them
    reported: list[events.StepCompleted | events.EvalCompleted] = []
    for before, event in zip(seen, seen[1:], strict=False):
        if isinstance(event, events.EvalCompleted) and isinstance(before, events.StepCompleted):
            reported += [before, event]
    return Replay(started, reported, finished, trainer.snapshot())


@pytest.fixture
def replayed_runs(monkeypatch: pytest.MonkeyPatch, notebook_run: Replay) -> dict[str, bool]:
    """TrainingRun.start replays `notebook_run` to the app, whole when `finish` is set,
    else its first half; the returned dict holds that switch and counts the starts."""
    settings = {"finish": False, "starts": 0}

    def start(run: TrainingRun, drawn: object = None) -> None:
        settings["starts"] += 1
        post = run.target.post_message
        post(messages.TrainingStarted(notebook_run.started))
        events_ = notebook_run.reported
        if not settings["finish"]:
            events_ = events_[: len(events_) // 2]
        for i in range(0, len(events_), 2):
            post(messages.RunReported(tuple(events_[i : i + 2])))
        if settings["finish"]:
            post(messages.TrainingFinished(notebook_run.finished, notebook_run.model))
        run.done.set()

    monkeypatch.setattr(TrainingRun, "start", start)
    return settings  # type: ignore[return-value]


@pytest.fixture
def japanese(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The interface in Japanese for one test: the locale says ja, as LANG=ja_JP.UTF-8
    would, so the app starts in it."""
    monkeypatch.setenv("LC_MESSAGES", "ja_JP.UTF-8")
    set_language("ja")
    yield
    set_language("en")


async def open_tour(pilot: Pilot) -> TourScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert pilot.app.dataset is not None, pilot.app.load_error
    screen = pilot.app.screen
    assert isinstance(screen, TourScreen)
    return screen


async def go_to(pilot: Pilot, number: int) -> TourScreen:
    """From the tour's first step to step `number` by the Space key; drawn now."""
    screen = await open_tour(pilot)
    for _ in range(number - 1):
        await pilot.press("space")
        await pilot.pause()
    await pilot.pause()
    pilot.app.clear_notifications()  # the end of training's toast
    screen.show_step()  # now, rather than at the next tick
    await pilot.pause()
    assert screen.tour_position == (number, len(STEPS))
    return screen


def shown(screen: TourScreen, selector: str = "#tour-object") -> str:
    return str(screen.query_one(selector, Static).render())


# --- snapshots: every step, both languages --------------------------------------------


def _snapshot(snap_compare, make_app, replayed_runs, number: int) -> bool:
    replayed_runs["finish"] = number > TRAINING_STEP + 1
    app = make_app("sherlock", tour=True)

    async def run_before(pilot: Pilot) -> None:
        await go_to(pilot, number)

    return snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("number", STEP_IDS)
def test_tour_step_in_english(snap_compare, make_app, replayed_runs, number) -> None:
    """Each step at 80x24: the explanation beside Sherlock's live object."""
    assert _snapshot(snap_compare, make_app, replayed_runs, number)


@pytest.mark.parametrize("number", STEP_IDS)
def test_tour_step_in_japanese(snap_compare, make_app, replayed_runs, japanese, number) -> None:
    """Each step at 80x24 with the interface in Japanese (語彙, 母数, 交差エントロピー)."""
    assert _snapshot(snap_compare, make_app, replayed_runs, number)


# --- keys -----------------------------------------------------------------------------


async def test_keys_move_forward_and_back_and_esc_leaves(make_app, replayed_runs) -> None:
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tour(pilot)
        assert screen.tour_position == (1, 11)
        followed: list[int] = []  # what a presenter mode watching the step would see
        screen.watch(screen, "step", lambda step: followed.append(step), init=False)
        for key, position in [
            ("space", 2),
            ("enter", 3),
            ("right", 4),
            ("pagedown", 5),
            ("left", 4),
            ("pageup", 3),
            ("home", 1),
            ("left", 1),  # nothing before the first step
        ]:
            await pilot.press(key)
            await pilot.pause()
            assert screen.tour_position == (position, 11), key
        assert followed == [1, 2, 3, 4, 3, 2, 0]
        for _ in range(15):
            await pilot.press("pagedown")
        await pilot.pause()
        assert screen.tour_position == (11, 11)  # nothing after the last
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)
        await pilot.press("w")  # back to the tour, where it was left
        await pilot.pause()
        assert app.screen is screen and screen.tour_position == (11, 11)


async def test_the_dataset_screen_opens_the_tour(make_app, tiny_corpus) -> None:
    """w on the dataset screen; a corpus other than Sherlock is named as such."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TourScreen) and screen.tour_position == (1, 11)
        assert "not the notebook's text" in shown(screen)
        assert f"{len(app.dataset.corpus.text):,} characters" in shown(screen)


def test_tour_flag_reaches_the_options() -> None:
    for argv, tui_alone in ((["tui", "--tour"], False), (["tui", "--tour"], True)):
        args = build_parser(tui_alone).parse_args(argv)
        assert TuiOptions.from_namespace(args).tour is True
    assert TuiOptions.from_namespace(build_parser().parse_args(["tui"])).tour is False


# --- the numbers are the core's -------------------------------------------------------


async def test_numbers_shown_are_the_cores(make_app, replayed_runs) -> None:
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tour(pilot)
        dataset = app.dataset
        vocab = dataset.vocab
        assert vocab.size == 83  # the notebook's vocabulary (N2)
        await pilot.press("space")
        await pilot.pause()
        assert f"sorted(set(text)): {vocab.size} characters" in shown(screen)
        assert f"stoi['H'] = {vocab.stoi['H']}" in shown(screen)

        await pilot.press("space")
        await pilot.pause()
        assert str(vocab.encode("Do you know, Watson,")) in shown(screen)

        await pilot.press("space")
        await pilot.pause()
        x, y = random_window(dataset.split.train, 16, torch.Generator().manual_seed(1))
        assert repr(vocab.decode(x.tolist())) == "'rip has been upo'"  # the notebook's (N11)
        assert "'rip has been upo'" in shown(screen) and "'ip has been upon'" in shown(screen)
        assert f"{dataset.split.sizes[0]:,}" in shown(screen)

        await pilot.press("space", "space")
        await pilot.pause()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)
            model = build_model("bigram", vocab.size).eval()
        counts = [n for _, _, n in model.parameter_table()]
        assert counts == [10624, 128, 10624, 83]
        assert str(counts) in shown(screen)
        assert f"{sum(counts):,}" in shown(screen)

        await pilot.press("space", "space")
        await pilot.pause()
        with torch.inference_mode():
            loss = float(F.cross_entropy(model(x)[0], y))
        text = shown(screen)
        assert f"loss = mean of -ln p = {loss:.3f}" in text
        assert f"q = e^-loss = {math.exp(-loss):.4f}" in text
        assert f"1/q = {math.exp(loss):.1f}" in text
        assert f"vocabulary size {vocab.size}" in text


async def test_training_step_starts_the_notebook_recipe_once(make_app, replayed_runs) -> None:
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tour(pilot)
        for _ in range(TRAINING_STEP - 1):
            await pilot.press("space")
        await pilot.pause()
        assert replayed_runs["starts"] == 0 and app.training_state == "idle"
        await pilot.press("space")  # the training step
        await pilot.pause()
        assert replayed_runs["starts"] == 1
        expected = replace(TrainConfig.defaults_for("bigram"), threads=app.threads)
        assert replace(app.train_config, newlines_to_spaces=False) == replace(
            expected, newlines_to_spaces=False
        )
        assert app.train_config.newlines_to_spaces is True  # Sherlock as the notebook reads it
        screen.show_step()
        await pilot.pause()
        last = app.history.evals[-1]
        assert f"val {last.val_perplexity:.1f}" in shown(screen, "#tour-numbers")
        await pilot.press("space")  # not finished: the text waits for the final weights
        await pilot.pause()
        assert "Training: step" in shown(screen)
        await pilot.press("left", "right")  # back to the training step and on: no second run
        await pilot.pause()
        assert replayed_runs["starts"] == 1


async def test_the_trained_text_comes_from_the_runs_weights(
    make_app, replayed_runs, notebook_run
) -> None:
    replayed_runs["finish"] = True
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await go_to(pilot, TRAINING_STEP + 2)
        assert app.snapshot is notebook_run.model
        from charlm_tui.tui.tour_lesson import generate_text

        expected = generate_text(notebook_run.model, app.dataset, 200)
        assert expected.replace("\n", "⏎")[:40] in shown(screen).replace("\n", " ")
        await pilot.press("space")
        await pilot.pause()
        greedy = generate_text(notebook_run.model, app.dataset, 100, temperature=0)
        assert greedy[:30] in shown(screen).replace("\n", " ")


async def test_the_tour_waits_for_the_corpus(make_app) -> None:
    """Opened before any corpus: it says it is loading, then shows the corpus's numbers."""
    app = make_app("sherlock", tour=True, load_on_start=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TourScreen)
        assert "Loading sherlock" in shown(screen)
        assert "{" not in shown(screen, "#tour-text")  # no placeholder left unfilled
        app.load_dataset("sherlock")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "562,213 characters" in shown(screen)


@pytest.mark.usefixtures("offline")
async def test_offline_the_tour_says_so_and_uses_what_it_has(make_app) -> None:
    """No Sherlock to be had: the tour opens on python-docs, says why, and goes on with it."""
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tour(pilot)
        assert app.dataset.corpus.name == "python-docs"
        text = shown(screen)
        assert "Opened python-docs" in text and "sherlock is not on this machine" in text
        await pilot.press("space")
        await pilot.pause()
        assert f"sorted(set(text)): {app.dataset.vocab.size} characters" in shown(screen)


async def test_another_run_in_progress_is_left_alone(make_app, replayed_runs) -> None:
    """A GPT training when the tour reaches its training step: the tour starts nothing and
    says what to do; its text steps do not take the GPT's weights for the notebook's."""
    app = make_app("sherlock", tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tour(pilot)
        gpt = events.TrainingStarted(
            run_dir=None, model="gpt", n_params=1, vocab_size=83, total_steps=100
        )
        app.training_state = "running"
        app.post_message(messages.TrainingStarted(gpt))
        await pilot.pause()
        screen.go(TRAINING_STEP)
        await pilot.pause()
        assert replayed_runs["starts"] == 0
        assert "Another run is training (gpt)" in shown(screen, "#tour-numbers")
        screen.go(TRAINING_STEP + 1)
        await pilot.pause()
        assert "No trained model yet" in shown(screen)
