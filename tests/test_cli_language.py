"""`charlm --lang ja|en` (anywhere on the line, or LANG) sets the language of the help,
of argparse's own words and of the errors the commands print."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from charlm_tui.cli import choose_language, main, serve_command
from charlm_tui.core.i18n import language


def test_help_in_japanese(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "ja", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("使い方: charlm")
    assert "文字レベル言語モデル" in out and "オプション:" in out
    assert "このヘルプを表示して終了する" in out


def test_a_subcommands_help_in_japanese_with_lang_after_it(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help", "--lang=ja"])
    out = capsys.readouterr().out
    assert "学習率の最大値" in out and "例:" in out


def test_a_cli_error_is_printed_in_japanese(tiny_corpus: str, capsys) -> None:
    assert main(["prep", "--lang", "ja", "--corpus", "missing/nothing.txt"]) == 2
    err = capsys.readouterr().err
    assert "charlm prep: missing/nothing.txt は存在しません: パスを確かめてください" in err


def test_an_argparse_error_is_printed_in_japanese(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "ja", "sample", "--unknown", "maybe"])
    err = capsys.readouterr().err
    assert "エラー: 引数 --unknown: 無効な選択: 'maybe'" in err


def test_the_same_error_stays_english_with_lang_en(tiny_corpus: str, capsys) -> None:
    assert main(["--lang", "en", "prep", "--corpus", "missing/nothing.txt"]) == 2
    assert "does not exist: check the path" in capsys.readouterr().err


def test_an_unknown_language_is_refused_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--lang", "fr", "prep"])
    assert exit_.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def test_choose_language_takes_lang_anywhere_and_leaves_the_rest(monkeypatch) -> None:
    assert choose_language(["train", "--lang", "ja", "--steps", "5"]) == ["train", "--steps", "5"]
    assert language() == "ja"
    assert choose_language(["--lang=en", "prep"]) == ["prep"]
    assert language() == "en"
    # no --lang: the locale decides
    monkeypatch.setenv("LC_MESSAGES", "ja_JP.UTF-8")
    assert choose_language(["prep"]) == ["prep"] and language() == "ja"


def test_lang_ja_jp_gives_japanese_help_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    env["LANG"] = "ja_JP.UTF-8"
    out = subprocess.run(
        [sys.executable, "-m", "charlm_tui", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert out.startswith("使い方: charlm") and "ターミナルアプリを開く" in out


def test_serve_passes_on_a_language_the_locale_does_not_say() -> None:
    assert "--lang" not in serve_command("tiny.txt", "en")
    assert serve_command("tiny.txt", "ja").endswith("--corpus tiny.txt --lang ja")
