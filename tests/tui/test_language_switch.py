"""The interface's language: chosen at start, from the locale by default, and switched in
the app (F12, the palette) at once, without losing a run or the console's transcript."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from charlm_tui.core.i18n import language
from charlm_tui.tui.commands import CharLMCommands
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.widgets.mode_bar import ModeBar


async def loaded(pilot: Pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert pilot.app.dataset is not None, pilot.app.load_error


def footer_words(screen) -> list[str]:  # noqa: ANN001
    return [key.description for key in screen.query(FooterKey)]


def transcript(screen: GenerateScreen) -> list[str]:
    return [str(turn.render()) for turn in screen._turns]


async def test_f12_switches_the_footer_mode_bar_and_labels_and_keeps_the_transcript(
    make_app, tiny_corpus
) -> None:
    app = make_app(tiny_corpus, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, GenerateScreen)
        await pilot.press("f8", "f8", "f8", *"Holmes", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = transcript(screen)
        assert said and said[0].startswith("› Holmes")
        assert "Clear" in footer_words(screen)

        await pilot.press("f12")
        await pilot.pause()
        assert app.lang == "ja" and language() == "ja"
        assert app.screen is screen
        words = footer_words(screen)
        assert "消去" in words and "Clear" not in words
        assert "対話" in str(screen.query_one(ModeBar).render())
        assert transcript(screen) == said  # the conversation stays
        assert screen.query_one("#seed").placeholder.startswith("シード")

        await pilot.press("f12")
        await pilot.pause()
        assert app.lang == "en" and "Clear" in footer_words(screen)
        assert transcript(screen) == said


async def test_switching_keeps_a_running_training_run_and_relabels_its_screen(
    make_app, tiny_corpus, scripted_run
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        scripted_run(app, app.dataset.vocab.size)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        history = app.history
        assert len(history.evals) == 6
        app.apply_language("ja")
        await pilot.pause()
        assert app.history is history and len(app.history.evals) == 6
        assert str(screen.query_one("#start", Button).label) == "開始"
        assert "損失" in str(screen.query_one("#loss-explained").render())
        assert "学習" in str(screen.query_one(ModeBar).render())


async def test_an_open_help_page_is_redrawn_in_the_new_language(make_app, tiny_corpus) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f12")
        await pilot.pause()
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "ヘルプ: データ" in shown and "数値の意味" in shown
        assert "What the numbers mean" not in shown


async def test_the_palette_offers_each_language(make_app, tiny_corpus) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        provider = CharLMCommands(app.screen)
        commands = {title: run for title, _help, run in provider._commands()}
        assert "Language: 日本語" in commands
        commands["Language: 日本語"]()
        await pilot.pause()
        assert app.lang == "ja"
        titles = [title for title, _help, _run in provider._commands()]
        assert "言語: English" in titles
    from charlm_tui.core.settings import load_settings

    assert load_settings()[0].language == "ja"  # a choice from the palette is remembered too


@pytest.mark.parametrize(("environ", "expected"), [("ja_JP.UTF-8", "ja"), ("C.UTF-8", "en")])
def test_the_app_takes_its_language_from_lang(
    make_app, tiny_corpus, monkeypatch, environ, expected
) -> None:
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", environ)
    app = make_app(tiny_corpus, load_on_start=False)
    assert app.lang == expected and language() == expected


async def test_j_switches_too_but_types_a_j_in_the_seed_line(make_app, tiny_corpus) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "j")
        await pilot.pause()
        assert app.lang == "ja"
        await pilot.press("3", "j")  # the seed line has the focus: j is a letter there
        await pilot.pause()
        assert app.lang == "ja" and app.screen.query_one("#seed").value == "j"
