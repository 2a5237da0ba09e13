"""The app remembers its settings between runs, and a bad or unwritable settings file never
stops it: the defaults, and the problem in words."""

from __future__ import annotations

from pathlib import Path

from charlm_tui.core.corpus import DEFAULT_CORPUS
from charlm_tui.core.settings import Settings, default_settings_path, load_settings, save_settings
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.widgets.sampling_bar import SamplingBar
from tests.pilot import loaded, until


def notices(app) -> list[str]:  # noqa: ANN001
    return [str(n.message) for n in app._notifications]


async def test_knobs_theme_and_corpus_survive_a_restart(make_app, tiny_corpus) -> None:
    """Turn two knobs and pick a theme in the palette, quit; a new app has them back."""
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("3")  # the console; the seed line has focus
        await pilot.press("f3", "f3", "f9")  # temperature 1.0 -> 1.2, length 200 -> 500
        await pilot.press("ctrl+p")  # the palette's theme picker, as a user would
        await pilot.press(*"theme")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"nord", "enter")
        await until(pilot, lambda: app.theme == "nord")
    saved, problem = load_settings()
    assert problem is None
    assert (saved.temperature, saved.length, saved.theme) == (1.2, 500, "nord")
    assert saved.last_corpus == str(Path(tiny_corpus).resolve())

    again = make_app(tiny_corpus)
    async with again.run_test() as pilot:
        await loaded(pilot)
        assert again.theme == "nord"
        await pilot.press("3")
        screen = again.screen
        assert isinstance(screen, GenerateScreen)
        assert (screen.options.temperature, screen.options.length) == (1.2, 500)
        bar = str(screen.query_one(SamplingBar).render())
        assert "temp 1.20" in bar and "len 500" in bar


async def test_without_corpus_the_last_one_opens(make_app, tiny_corpus) -> None:
    """No --corpus: the remembered file opens; one gone since gives way to the default."""
    path = str(Path(tiny_corpus).resolve())
    save_settings(Settings(last_corpus=path, last_newlines_to_spaces=True))
    app = make_app(DEFAULT_CORPUS, corpus_from_settings=True)
    assert (app.options.corpus, app.options.newlines_to_spaces) == (path, True)
    async with app.run_test() as pilot:
        await loaded(pilot)
        assert app.dataset is not None and app.dataset.corpus.reference == path
    explicit = make_app("shakespeare")  # a --corpus of its own wins
    assert explicit.options.corpus == "shakespeare"
    Path(path).unlink()
    gone = make_app(DEFAULT_CORPUS, corpus_from_settings=True)
    assert gone.options.corpus == DEFAULT_CORPUS and gone.options.newlines_to_spaces is None


def test_the_cli_flags_reach_the_options() -> None:
    from charlm_tui.cli import build_parser

    plain = TuiOptions.from_namespace(build_parser().parse_args(["tui"]))
    assert plain.corpus_from_settings and not plain.present
    given = TuiOptions.from_namespace(build_parser().parse_args(["tui", "--corpus", "x.txt"]))
    assert not given.corpus_from_settings
    assert TuiOptions.from_namespace(build_parser().parse_args(["tui", "--present"])).present


async def test_a_corrupted_file_gives_the_defaults_and_says_so(make_app, tiny_corpus) -> None:
    path = default_settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('[sampling]\ntemperature = "hot"\n', "utf-8")
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        said = " ".join(notices(app))
        assert f"The settings file {path} could not be used" in said
        assert 'sampling.temperature = "hot"' in said and "kept as" in said
        await pilot.press("3")
        assert app.screen.options.temperature == 1.0  # type: ignore[attr-defined]
        await pilot.press("f3")
    assert path.with_name("settings.toml.bad").read_text("utf-8").endswith('"hot"\n')
    assert app.settings.temperature == 1.1
    assert load_settings() == (app.settings, None)  # a fresh file, beside the one kept


async def test_an_unwritable_config_dir_does_not_stop_the_app(
    make_app, tiny_corpus, isolated_config: Path
) -> None:
    """A file where the config folder should be: the app runs and says it cannot save."""
    (isolated_config / "charlm-tui").write_text("not a folder", "utf-8")
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        assert any("Could not read the settings file" in n for n in notices(app))
        await pilot.press("3", "f3")
        await until(pilot, lambda: any("Could not save the settings" in n for n in notices(app)))
        assert app.screen.options.temperature == 1.1  # type: ignore[attr-defined]
        await pilot.press("f3")  # told once, not at every knob
        await pilot.pause(0.8)
        assert sum("Could not save" in n for n in notices(app)) == 1
    assert (isolated_config / "charlm-tui").read_text("utf-8") == "not a folder"


async def test_the_last_checkpoint_is_offered_in_the_console(make_app, tiny_corpus) -> None:
    from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen

    save_settings(Settings(last_checkpoint="/runs/old/best.safetensors"))
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("3", "ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, OpenCheckpointScreen)
        from textual.widgets import Input

        assert app.screen.query_one(Input).value == "/runs/old/best.safetensors"


def test_a_remembered_language_is_spoken_unless_one_is_given(
    make_app, tiny_corpus, monkeypatch
) -> None:
    """--lang first, then the language remembered, then the locale."""
    from charlm_tui.core import i18n

    monkeypatch.delenv("LC_MESSAGES")  # the suite's English: here the locale is LANG's
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    save_settings(Settings(language="ja"))
    try:
        assert make_app(tiny_corpus).lang == "ja"
        assert i18n.language() == "ja"
        assert make_app(tiny_corpus, lang="en").lang == "en"
        save_settings(Settings())
        monkeypatch.setenv("LANG", "ja_JP.UTF-8")
        assert make_app(tiny_corpus).lang == "ja"
    finally:
        i18n.set_language("en")


async def test_a_language_switched_in_the_app_is_remembered(make_app, tiny_corpus) -> None:
    from charlm_tui.core import i18n
    from charlm_tui.core.settings import load_settings

    app = make_app(tiny_corpus)
    try:
        async with app.run_test() as pilot:
            await loaded(pilot)
            await pilot.press("f12")
            assert app.lang == "ja"
        assert load_settings()[0].language == "ja"
    finally:
        i18n.set_language("en")


async def test_an_app_told_not_to_remember_leaves_the_file_alone(make_app, tiny_corpus) -> None:
    """remember=False (the benchmark's app, the README's pictures): defaults, nothing written."""
    save_settings(Settings(temperature=0.5))
    before = default_settings_path().read_bytes()
    app = make_app(tiny_corpus, remember=False)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pilot.press("3", "f3")
        assert app.screen.options.temperature == 1.1  # type: ignore[attr-defined]
        await pilot.pause(0.8)
    assert default_settings_path().read_bytes() == before
