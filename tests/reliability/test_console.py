"""The console and every other place a person types: huge pastes, odd seeds, bad checkpoints.

Already proven elsewhere (not repeated here):

- a 100 KB paste into the seed line keeps its tail and the bars answer: tests/tui/
  test_tui_flows.py::test_a_100kb_paste_does_not_freeze
- unknown seed characters are marked, named and dropped: tests/tui/test_tui_flows.py::
  test_unknown_characters_are_marked_and_reported; tests/core/test_sample.py::
  test_unknown_seed_characters_are_reported_not_raised_and_dropped; tests/test_cli.py::
  test_sample_reports_unknown_seed_characters_instead_of_a_traceback
- an empty seed starts from a random character (core, CLI): tests/core/test_sample.py::
  test_an_empty_seed_starts_from_a_random_character_drawn_with_the_generators_rng;
  tests/test_cli.py::test_untrained_model_samples_gibberish_from_a_random_first_char
- out-of-range sampling settings are refused with the range (core, CLI): tests/core/
  test_sample.py::test_out_of_range_options_are_refused_with_the_valid_range; tests/
  test_cli.py::test_out_of_range_sampling_options_are_refused_naming_the_range
- a file that is not a checkpoint is refused in the console: tests/tui/
  test_tui_entry_and_palette.py::test_console_opens_a_checkpoint_and_refuses_a_bad_file
"""

from __future__ import annotations

import pickle
import time
import unicodedata
from pathlib import Path

import pytest
import torch
from textual import events
from textual.widgets import Input, Static

from charlm_tui.core import checkpoint as ck
from charlm_tui.core.sample import SamplingOptions
from charlm_tui.core.train import TrainConfig, Trainer
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.widgets.seed_input import SeedInput
from tests.conftest import TINY_TEXT
from tests.reliability.harness import loaded, open_console, until

# One 100 KB line (a minified file, a long log line): an Input keeps only a paste's first
# line, so a line this long is the worst case.
PASTE = ("the fog rolled down the street, and the lamps were lit early. " * 1700)[:100_000]


def transcript(console: GenerateScreen) -> str:
    return "\n".join(str(turn.render()) for turn in console.query(".turn").results(Static))


def warning(console: GenerateScreen) -> str:
    return str(console.query_one("#seed-warning", Static).render())


async def paste_then_type(pilot, widget: Input, key: str) -> float:  # noqa: ANN001
    """Paste 100 KB into `widget`, then press `key`; return how long the key took."""
    widget.focus()
    await pilot.pause()
    widget.post_message(events.Paste(PASTE))
    await pilot.pause()
    before = widget.value
    started = time.monotonic()
    await pilot.press(key)
    await until(pilot, lambda: widget.value != before, timeout=10)
    return time.monotonic() - started


async def test_a_100kb_paste_into_any_input_leaves_the_next_key_answered_within_a_second(
    make_app, tiny_corpus
) -> None:
    """The path and playground lines, a training setting, the checkpoint dialog and the
    seed line each take a 100 KB paste; the key after it is handled within a second."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        timings = {}
        for selector in ("#path-input", "#playground"):
            widget = app.screen.query_one(selector, Input)
            timings[selector] = await paste_then_type(pilot, widget, "x")
            widget.value = ""
        await app.switch_mode("training")
        await pilot.pause()
        steps = app.screen.query_one("#set-steps", Input)
        timings["#set-steps"] = await paste_then_type(pilot, steps, "5")
        steps.value = "1000"
        await app.switch_mode("console")
        await pilot.pause()
        timings["#seed"] = await paste_then_type(pilot, app.screen.query_one(SeedInput), "x")
        await pilot.press("escape", "o")
        assert isinstance(app.screen, OpenCheckpointScreen)
        dialog = app.screen.query_one(Input)
        timings["#checkpoint-path"] = await paste_then_type(pilot, dialog, "x")
        await pilot.press("escape")
        assert app.is_running
    slow = {name: round(s, 2) for name, s in timings.items() if s > 1.0}
    assert slow == {}, f"keys answered late after a paste: {slow}"


async def test_a_seed_pasted_in_nfd_is_read_as_the_nfc_characters_of_the_corpus(
    make_app, tmp_path
) -> None:
    """ "café" decomposed (as macOS pastes it) matches the corpus's "é": nothing is marked
    unknown and no accent is dropped."""
    corpus = tmp_path / "cafe.txt"
    corpus.write_text("Le café de la rue, naïve et très élégante. " * 30, encoding="utf-8")
    app = make_app(corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        console = await open_console(pilot)
        seed = console.query_one(SeedInput)
        seed.post_message(events.Paste(unicodedata.normalize("NFD", "Le café")))
        await pilot.pause()
        assert "not in the vocabulary" not in warning(console), warning(console)


async def test_enter_on_an_empty_seed_generates_from_a_random_first_character(
    make_app, tiny_corpus
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        console = await open_console(pilot, "f8", "f8", "f8")  # length 200 -> 20
        await pilot.press("enter")
        await until(pilot, lambda: "[20 characters]" in transcript(console))
        produced = transcript(console).split("›", 1)[1].split("[")[0].strip()
        assert produced and set(produced) <= set(TINY_TEXT) | {"⏎"}


async def test_the_sampling_knobs_stop_at_the_ends_of_their_valid_ranges(
    make_app, tiny_corpus
) -> None:
    """Held far past their ends, the knobs stay valid: temperature 0 (greedy) to 5, top-p
    never 0, top-k and length from their lists; generating still works at each end."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        console = await open_console(pilot)
        await pilot.press("f2", "f6", "f4", "f8")  # the keys reach the knobs...
        for name, presses in (("temperature", 15), ("top_p", 25), ("top_k", 10), ("length", 10)):
            for _ in range(presses):  # ...and far past their ends
                console.action_knob(name, -1)
        low = console.options
        assert (low.temperature, low.top_k, low.length) == (0.0, 1, 20) and low.top_p > 0
        SamplingOptions(**vars(low))  # valid: the constructor checks every range
        await pilot.press(*"It ", "enter")
        await until(pilot, lambda: "[20 characters]" in transcript(console))
        for name, presses in (("temperature", 60), ("top_p", 25), ("top_k", 10), ("length", 10)):
            for _ in range(presses):
                console.action_knob(name, 1)
        high = console.options
        assert (high.temperature, high.top_p, high.top_k, high.length) == (5.0, 1.0, 0, 2000)
        SamplingOptions(**vars(high))


def write_bad_checkpoint(kind: str, folder: Path, good: Path) -> tuple[Path, str]:
    path = folder / f"{kind}.safetensors"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:-1000])
        return path, "truncated"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"w": _Trap(folder / "pwned")}))
        return path, "unpickling can run arbitrary code"
    if kind == "folder":
        path.mkdir()
        return path, "folder"
    raise AssertionError(kind)


class _Trap:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def other_corpus_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint trained on a text of other characters (digits and capitals)."""
    out = tmp_path_factory.mktemp("other") / "run"
    text = "0123456789 ABCDEFGHIJ KLMNOPQRST UVWXYZ.\n" * 20
    config = TrainConfig.defaults_for("bigram", steps=10, block_size=8, sample_length=0)
    Trainer(config, text, out_dir=out).run()
    return out / "last.safetensors"


async def test_the_console_refuses_each_bad_checkpoint_in_words_and_keeps_talking(
    make_app, tiny_corpus, tmp_path, other_corpus_checkpoint, monkeypatch
) -> None:
    """Truncated, empty, pickled and folder "checkpoints": each is refused in words, the
    pickle never runs, and the model in use stays; a good one from another corpus then
    opens with its own vocabulary and marks the seed's characters it never saw."""

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to unpickle")

    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        console = await open_console(pilot)
        source = console._source
        for kind in ("truncated", "empty", "pickle", "folder"):
            path, words = write_bad_checkpoint(kind, tmp_path, other_corpus_checkpoint)
            console._warn("")
            console.load_checkpoint(path)
            await until(pilot, lambda: "cannot open" in warning(console))
            assert words in warning(console) and str(path) in warning(console), warning(console)
            assert console._source is source
        assert not (tmp_path / "pwned").exists()

        console.load_checkpoint(other_corpus_checkpoint)
        await until(pilot, lambda: console.source_kind == "checkpoint")
        assert console._source.vocab.chars == tuple(
            ck.load_checkpoint(other_corpus_checkpoint).vocab_chars
        )
        await pilot.press(*"HOLMES 221b")
        assert "'b' is not in the vocabulary" in warning(console), warning(console)
        await pilot.press("enter")
        await until(pilot, lambda: "characters]" in transcript(console))
