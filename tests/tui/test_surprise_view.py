"""The surprise heat-map, opened from the console: snapshots with one model and with two
side by side, typing that updates the average, and the comparison's keys.

The models are set by arithmetic, as the assets script sets its bigram: counted bigram
probabilities (A, the console's model) and counted unigram ones (B, a checkpoint), so every
screenshot is the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from textual.pilot import Pilot
from textual.widgets import TextArea

from charlm_tui.core.checkpoint import save_checkpoint
from charlm_tui.core.models import build_model
from charlm_tui.core.surprise import surprise
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.surprise import DEBOUNCE_S, SurpriseScreen
from tests.counted_model import counted_bigram

TYPED = " sat by the fire, Watson"
UNKNOWN = "™"  # not in the tiny corpus: marked and dropped


@pytest.fixture(autouse=True)
def steady_text_area(monkeypatch: pytest.MonkeyPatch) -> None:
    """A steady cursor in the text area too (the Input's is steadied in conftest)."""
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


async def type_text(pilot: Pilot, text: str) -> None:
    """Type `text` into the focused text area, a key at a time; a character with no key
    name (™) is inserted as a paste would."""
    for ch in text:
        if ch.isascii():
            await pilot.press(ch)
        else:
            area = pilot.app.focused
            assert isinstance(area, TextArea)
            area.insert(ch)
    await pilot.pause()


async def console_with_counted_bigram(pilot: Pilot, scripted_run) -> GenerateScreen:
    """The tiny corpus loaded, a scripted run whose snapshot is the counted bigram, the
    console open on it."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    dataset = app.dataset
    assert dataset is not None, app.load_error
    scripted_run(app, dataset.vocab.size)
    await pilot.pause()
    app.snapshot = counted_bigram(dataset.split.train, dataset.vocab.size)
    app.snapshot_version += 1
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, GenerateScreen)
    return screen


async def scored(pilot: Pilot) -> SurpriseScreen:
    """Past the typing pause, the scoring worker done, its result drawn."""
    await pilot.pause(DEBOUNCE_S + 0.1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SurpriseScreen)
    return screen


def save_unigram(app, path: Path) -> Path:
    dataset = app.dataset
    model = counted_bigram(dataset.split.train, dataset.vocab.size, unigram=True)
    return save_checkpoint(
        path,
        model=model,
        model_name="bigram",
        model_config=model.config,
        vocab_chars=dataset.vocab.chars,
        step=0,
        train_config={"block_size": 16},
    )


def test_heat_map_of_one_model(snap_compare, make_app, tiny_corpus, scripted_run) -> None:
    """ctrl+s from the console with "Holmes" typed, then more text with an unknown ™."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await console_with_counted_bigram(pilot, scripted_run)
        await pilot.press(*"Holmes", "ctrl+s")
        await type_text(pilot, TYPED + UNKNOWN + ".")
        await scored(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_heat_maps_of_two_models_side_by_side(
    snap_compare, make_app, tiny_corpus, scripted_run, tmp_path
) -> None:
    """ctrl+o opens a unigram checkpoint as B: both maps, both averages, the difference."""
    app = make_app(tiny_corpus)

    async def run_before(pilot: Pilot) -> None:
        await console_with_counted_bigram(pilot, scripted_run)
        save_unigram(pilot.app, tmp_path / "unigram.safetensors")
        await pilot.press(*"Holmes", "ctrl+s")
        await type_text(pilot, TYPED + UNKNOWN + ".")
        await scored(pilot)
        await pilot.press("ctrl+o")
        await pilot.press(*"unigram.safetensors", "enter")  # relative to the cwd, tmp_path
        await pilot.app.workers.wait_for_complete()
        screen = await scored(pilot)
        assert screen.results[1] is not None

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_typing_updates_the_average(make_app, tiny_corpus, scripted_run) -> None:
    """Each pause in the typing rescores the text: the average and the count follow, and
    they are core.surprise's numbers for the text typed so far."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await console_with_counted_bigram(pilot, scripted_run)
        await pilot.press("ctrl+s")
        screen = await scored(pilot)
        area = screen.query_one("#surprise-input", TextArea)
        assert area.has_focus and screen.results[0] is not None
        assert screen.results[0].bits_per_char is None  # nothing typed yet

        averages = []
        for chunk in ("Ho", "lmes", " Wxw"):
            await pilot.press(*chunk)
            await scored(pilot)
            result = screen.results[0]
            assert result is not None and result.text == area.text
            head = str(screen.query_one("#surprise-a-head").render())
            assert f"{result.bits_per_char:.3f} bits/char" in head
            assert f"{len(area.text)} characters" in head
            source = screen.sources[0]
            expected = surprise(source.model, source.vocab, area.text, source.block_size)
            assert result.bits == expected.bits
            averages.append(result.bits_per_char)
        assert averages[0] != averages[1] != averages[2]
        assert averages[2] > averages[1], "Wxw surprises a model of English"
        assert screen.results[0].n_unknown == 0

        await type_text(pilot, UNKNOWN)  # counted, dropped, no new average
        await scored(pilot)
        assert screen.results[0].n_unknown == 1
        assert screen.results[0].bits_per_char == averages[2]
        assert "1 unknown (dropped)" in str(screen.query_one("#surprise-a-head").render())


async def test_compare_close_and_go_back(make_app, tiny_corpus, scripted_run, tmp_path) -> None:
    """A bad path says so; a checkpoint opens as B with the difference; ctrl+r closes it;
    Esc goes back to the console."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await console_with_counted_bigram(pilot, scripted_run)
        save_unigram(app, tmp_path / "unigram.safetensors")
        await pilot.press(*"Holmes", "ctrl+s")
        screen = await scored(pilot)

        await pilot.press("ctrl+o", *"nowhere.safetensors", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.sources[1] is None
        assert any("nowhere.safetensors" in str(n.message) for n in app._notifications)

        await pilot.press("ctrl+o", *"unigram.safetensors", "enter")
        await pilot.app.workers.wait_for_complete()
        await scored(pilot)
        a, b = screen.results
        assert a is not None and b is not None and b.bits_per_char > a.bits_per_char
        diff = str(screen.query_one("#surprise-diff").render())
        assert f"{b.bits_per_char - a.bits_per_char:+.3f} bits/char" in diff
        assert screen.query_one("#surprise-b").display

        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.sources[1] is None and not screen.query_one("#surprise-b").display

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, GenerateScreen)


@pytest.mark.parametrize("key", ["ctrl+s", "h"])
async def test_the_console_opens_it_with_its_model_and_seed(
    make_app, tiny_corpus, scripted_run, key
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        console = await console_with_counted_bigram(pilot, scripted_run)
        await pilot.press(*"Wat")
        if key == "h":
            await pilot.press("escape")  # off the seed line: plain keys work
        await pilot.press(key)
        screen = await scored(pilot)
        assert screen.sources[0].model is console._source.model
        assert screen.sources[0].block_size == app.train_config.block_size
        assert screen.query_one("#surprise-input", TextArea).text == "Wat"


async def test_the_heat_map_speaks_japanese(make_app, tiny_corpus, scripted_run) -> None:
    """Under Japanese the numbers read ビット/文字 and the legend names the vocabulary (語彙)."""
    from charlm_tui.core.i18n import set_language

    set_language("ja")
    try:
        app = make_app(tiny_corpus, lang="ja")
        async with app.run_test(size=(80, 24)) as pilot:
            await console_with_counted_bigram(pilot, scripted_run)
            await pilot.press(*"Holmes", "ctrl+s")
            screen = await scored(pilot)
            head = str(screen.query_one("#surprise-a-head").render())
            assert f"{screen.results[0].bits_per_char:.3f} ビット/文字" in head
            assert "6 文字" in head
            assert "語彙にない" in str(screen.query_one("#surprise-legend").render())
    finally:
        set_language("en")


def test_rows_wrap_whole_words_and_keep_every_character() -> None:
    """The map's rows: words move whole to the next row, a word wider than a row is cut,
    a line break ends its row (drawn as ⏎), and no character is lost, spaces included."""
    from charlm_tui.core.vocab import Vocab
    from charlm_tui.tui.widgets.surprise_text import HeatCells

    text = "Holmes sat in his chair,\nwith a supercalifragilistic grin.\n\nEnd"
    vocab = Vocab.from_text(text)
    torch.manual_seed(0)
    result = surprise(build_model("bigram", vocab.size).eval(), vocab, text, 16)
    cells = HeatCells.of(result)
    rows = ["".join(cells.glyphs[a:b]) for a, b in cells.rows(12)]
    assert rows == [
        "Holmes sat ",
        "in his ",
        "chair,⏎",
        "with a ",
        "supercalifra",
        "gilistic ",
        "grin.⏎",
        "⏎",
        "End",
    ]
    assert "".join(rows) == text.replace("\n", "⏎")


async def test_a_long_paste_is_scored_on_its_beginning(make_app, tiny_corpus, scripted_run) -> None:
    """Past MAX_CHARS the map scores the beginning and says so, once, with the way to score
    the whole (charlm eval --text); the map draws the rows on screen only."""
    from charlm_tui.tui.screens.surprise import MAX_CHARS
    from tests.conftest import TINY_TEXT

    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await console_with_counted_bigram(pilot, scripted_run)
        await pilot.press("ctrl+s")
        screen = await scored(pilot)
        area = screen.query_one("#surprise-input", TextArea)
        long_text = TINY_TEXT * (MAX_CHARS // len(TINY_TEXT) + 2)
        area.load_text(long_text)
        screen.score_now()
        await scored(pilot)
        assert screen.results[0].n_chars == MAX_CHARS
        area.move_cursor(area.document.end)
        area.insert("x")  # a later edit: scored again, not said again
        await scored(pilot)
        said = [n for n in app._notifications if "charlm eval --text" in str(n.message)]
        assert len(said) == 1 and f"{MAX_CHARS:,}" in str(said[0].message)
        heat = screen.query_one("#surprise-a-map")
        assert heat.virtual_size.height > 200 and heat.plain_rows[0].startswith("It was")


def test_the_colour_scale_and_the_marks() -> None:
    """0 bits dark green, 8 bits and beyond red, amber half-way; unknown characters have a
    colour of their own and an underline (seen without colour too); wide characters keep
    their two cells, a lone combining mark gets a dot."""
    from charlm_tui.tui.widgets.surprise_text import (
        STOPS,
        UNKNOWN,
        char_style,
        scale_rgb,
        shown_char,
    )

    assert scale_rgb(0.0) == STOPS[0][1] and scale_rgb(-1.0) == STOPS[0][1]
    assert scale_rgb(4.0) == STOPS[2][1]
    assert scale_rgb(8.0) == STOPS[-1][1] == scale_rgb(20.0)
    assert char_style(None, known=False) is UNKNOWN and UNKNOWN.underline
    assert char_style(3.0, known=True) == char_style(3.01, known=True)  # 1/16-bit steps
    assert char_style(3.0, known=True) != char_style(5.0, known=True)
    assert [shown_char(c) for c in "a\n\t坊\u0301"] == ["a", "⏎", "⇥", "坊", "·"]
