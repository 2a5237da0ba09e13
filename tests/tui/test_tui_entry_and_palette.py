"""Tests of the ways in and around: run_tui without a terminal, the palette, help, checkpoints."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import Input, Static

from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.commands import CharLMCommands
from charlm_tui.tui.entry import run_tui
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.screens.training import TrainingScreen
from tests.pilot import open_console, start_run, until


def test_run_tui_without_a_tty_points_to_the_headless_cli() -> None:
    """stdout that is not a terminal: one line naming `charlm train --help`, status 2."""
    out = io.StringIO()
    assert run_tui(stdout=out) == 2
    assert "charlm train --help" in out.getvalue()
    assert out.getvalue().count("\n") == 1


def test_run_tui_with_term_dumb_points_to_the_headless_cli(monkeypatch) -> None:
    """TERM=dumb, even on a TTY: the same one line instead of escape-code garbage."""

    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "dumb")
    out = FakeTTY()
    assert run_tui(stdout=out) == 2
    assert "TERM=dumb" in out.getvalue() and "charlm train --help" in out.getvalue()


def test_options_from_the_cli_namespace() -> None:
    """`charlm tui --corpus X --keep-newlines --threads 3` reaches the app's options."""
    from charlm_tui.cli import build_parser

    args = build_parser().parse_args(
        [
            "tui",
            "--corpus",
            "shakespeare",
            "--keep-newlines",
            "--encoding",
            "latin-1",
            "--encoding-errors",
            "replace",
            "--threads",
            "3",
        ]
    )
    options = TuiOptions.from_namespace(args)
    assert options.corpus == "shakespeare"
    assert options.newlines_to_spaces is False
    assert (options.encoding, options.encoding_errors, options.threads) == ("latin-1", "replace", 3)
    plain = build_parser().parse_args(["tui"])
    assert TuiOptions.from_namespace(plain).newlines_to_spaces is None


async def test_palette_lists_the_keys_of_the_app_and_of_every_screen(make_app, tiny_corpus) -> None:
    """The command palette has a command for every key with words, read from the bindings
    (a screen's key too, from another screen); "start train" finds Start, which trains."""
    from charlm_tui.tui.screens.dataset import DatasetScreen
    from charlm_tui.tui.screens.generate import GenerateScreen

    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.dataset is not None)
        provider = CharLMCommands(app.screen)
        hits = [hit async for hit in provider.discover()]
        found = {hit.display: hit.help for hit in hits}
        for screen in (app, DatasetScreen, TrainingScreen, GenerateScreen):
            for binding in screen.BINDINGS:
                if binding.tooltip:
                    assert binding.tooltip in found, binding
        assert found["Temperature down (0 = greedy)"] == "f2 / [ on the console screen"
        hits = [hit async for hit in provider.search("start train")]
        assert hits and str(hits[0].text).startswith("Start training")
        app.train_config.steps = 20
        await hits[0].command()
        await until(pilot, lambda: app.training_state == "finished")


async def test_help_shows_the_keys_of_the_screen_it_came_from(make_app, tiny_corpus) -> None:
    """F1 on the training screen lists its keys (read from its bindings: s/p/x/w/u...) and
    the app's, and explains perplexity; Esc closes it."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.dataset is not None)
        await pilot.press("2", "f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        for static in app.screen.query(Static):
            console.print(static.content)
        text = console.export_text()
        for binding in (*TrainingScreen.BINDINGS, *app.BINDINGS):
            assert (binding.tooltip or binding.description) in text, binding
        for words in ("Command palette", "perplexity", "one-hot", "e^-loss"):
            assert words in text, words
        await pilot.press("escape")
        assert isinstance(app.screen, TrainingScreen)


async def test_console_opens_a_checkpoint_and_refuses_a_bad_file(
    make_app, tiny_corpus, tmp_path
) -> None:
    """o opens the last checkpoint (prefilled); a file that is not a checkpoint is refused in words."""
    (tmp_path / "notes.safetensors").write_bytes(b"not a checkpoint at all")
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.dataset is not None)
        await start_run(pilot, 20)
        await until(pilot, lambda: app.training_state == "finished")
        await pilot.press("3", "ctrl+o")
        assert isinstance(app.screen, OpenCheckpointScreen)
        path = app.screen.query_one(Input).value
        assert path.endswith(".safetensors") and Path(path).is_file()
        await pilot.press("enter")
        console = app.screen
        assert isinstance(console, GenerateScreen)
        await until(pilot, lambda: console.source_kind == "checkpoint")
        assert "step 20" in console._source.label

        await pilot.press("ctrl+o")
        dialog_input = app.screen.query_one(Input)
        dialog_input.value = "notes.safetensors"
        await pilot.press("enter")
        warning = console.query_one("#seed-warning", Static)
        await until(pilot, lambda: "cannot open" in str(warning.render()))
        assert console.source_kind == "checkpoint", "the good checkpoint stays in use"


async def test_ctrl_n_cycles_the_model_source(make_app, tiny_corpus) -> None:
    """Before training the console talks to the untrained model (N7); ctrl+n keeps it working."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.dataset is not None)
        console = await open_console(pilot)
        assert console._source.label.startswith("untrained bigram")
        await pilot.press("ctrl+n")
        assert console.source_kind == "untrained"
        await pilot.press("ctrl+n")
        assert console.source_kind == "latest"


async def test_quit_key_leaves_at_once_when_idle(make_app, tiny_corpus) -> None:
    """q with nothing running exits with status 0."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.dataset is not None)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, timeout=5)
    assert app.return_code == 0


def test_app_leaves_a_core_to_the_ui_by_default(monkeypatch) -> None:
    """threads defaults to cores - 1 (at least 1)."""
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert CharLMApp(TuiOptions(load_on_start=False)).threads == 7
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert CharLMApp(TuiOptions(load_on_start=False)).threads == 1


async def test_palette_start_uses_the_settings_typed_in_the_training_form(
    make_app, tiny_corpus
) -> None:
    """Settings typed on the training screen hold when training starts from the palette."""
    from textual.widgets import Input

    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.dataset is not None)
        await pilot.press("2")
        app.screen.query_one("#set-steps", Input).value = "15"
        await pilot.press("1")  # leave the screen: the palette works from anywhere
        hits = [hit async for hit in CharLMCommands(app.screen).search("start train")]
        await hits[0].command()
        await until(pilot, lambda: app.training_state == "finished")
        assert app.train_config.steps == 15
