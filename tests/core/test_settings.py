"""The settings file: defaults when missing, a round trip, and a bad file kept aside in words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from charlm_tui.core.settings import (
    Settings,
    default_settings_path,
    load_settings,
    save_settings,
)


def test_the_file_is_under_the_config_dir_the_tests_set(isolated_config: Path) -> None:
    """platformdirs honours XDG_CONFIG_HOME: no test can touch the user's settings."""
    assert default_settings_path() == isolated_config / "charlm-tui" / "settings.toml"


def test_a_missing_file_is_the_defaults_without_a_problem(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == (Settings(), None)


def test_saved_settings_load_back_the_same(tmp_path: Path) -> None:
    """Every field survives a save and a load (a restart); the folder is made if missing."""
    path = tmp_path / "deep" / "settings.toml"
    settings = Settings(
        language="ja",
        theme="nord",
        temperature=0.7,
        top_k=5,
        top_p=0.9,
        length=50,
        seed=4,
        last_corpus="/data/my text.txt",
        last_newlines_to_spaces=False,
        last_checkpoint="/runs/gpt/best.safetensors",
    )
    save_settings(settings, path)
    assert load_settings(path) == (settings, None)
    assert not [p for p in path.parent.iterdir() if p.name != "settings.toml"]  # no temp left


def test_the_default_path_is_used_without_one() -> None:
    save_settings(Settings(theme="dracula"))
    assert default_settings_path().is_file()
    assert load_settings() == (Settings(theme="dracula"), None)


def test_a_whole_number_for_a_real_one_is_fine_and_unknown_keys_are_ignored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('future = "yes"\n[sampling]\ntemperature = 1\nnew_knob = 3\n', "utf-8")
    settings, problem = load_settings(path)
    assert problem is None
    assert settings.temperature == 1.0 and isinstance(settings.temperature, float)


BAD_FILES = [
    pytest.param(b"\xff\xfe\x00\x81garbage", "it is not UTF-8 text", id="garbage-bytes"),
    pytest.param(b"theme = = 1\n", "not valid TOML", id="bad-toml"),
    pytest.param(b'[sampling]\ntemperature = "hot"\n', 'temperature = "hot"', id="wrong-type"),
    pytest.param(b"[sampling]\ntemperature = 9.5\n", "from 0 (greedy) to 5", id="out-of-range"),
    pytest.param(b"[sampling]\ntop_p = 0\n", "top_p = 0", id="top-p-zero"),
    pytest.param(b'language = "fr"\n', '"en", "ja"', id="unknown-language"),
    pytest.param(b"sampling = 3\n", "[sampling] must be a table", id="table-not-value"),
    pytest.param(b"[last]\nnewlines_to_spaces = 1\n", "true or false", id="not-a-bool"),
]


@pytest.mark.parametrize(("content", "says"), BAD_FILES)
def test_a_bad_file_gives_the_defaults_a_message_and_is_kept_aside(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(content)
    settings, problem = load_settings(path)
    assert settings == Settings()
    assert problem is not None
    assert str(path) in problem and says in problem, problem
    assert "default settings are used" in problem
    aside = tmp_path / "settings.toml.bad"
    assert f"kept as {aside}" in problem
    assert aside.read_bytes() == content  # nothing the user wrote is lost
    assert not path.exists()  # so the next save cannot overwrite it
    save_settings(Settings(top_k=3), path)
    assert aside.read_bytes() == content


def test_the_toml_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('theme = "nord"\n\n[sampling\ntop_k = 3\n', "utf-8")
    problem = load_settings(path)[1]
    assert problem is not None and "line 3" in problem


def test_a_second_bad_file_does_not_replace_the_first_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("first = = bad", "utf-8")
    load_settings(path)
    path.write_text("second = = bad", "utf-8")
    problem = load_settings(path)[1]
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept[0] == "settings.toml.bad" and kept[1].startswith("settings.toml.bad-"), kept
    assert (tmp_path / "settings.toml.bad").read_text("utf-8") == "first = = bad"
    assert (tmp_path / kept[1]).read_text("utf-8") == "second = = bad"
    assert problem is not None and kept[1] in problem


def test_an_unwritable_place_raises_oserror(tmp_path: Path) -> None:
    """A file where the config folder should be (chmod is no obstacle to root) refuses it."""
    (tmp_path / "charlm-tui").write_text("not a folder", "utf-8")
    with pytest.raises(OSError):
        save_settings(Settings(top_k=9), tmp_path / "charlm-tui" / "settings.toml")


def test_a_bad_file_that_cannot_be_moved_aside_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("x = = 1", "utf-8")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    settings, problem = load_settings(path)
    assert settings == Settings()
    assert problem is not None and "could not be moved aside (Permission denied)" in problem
    assert path.read_text("utf-8") == "x = = 1"


def test_the_problem_is_told_in_japanese_too(tmp_path: Path) -> None:
    from charlm_tui.core.i18n import set_language

    path = tmp_path / "settings.toml"
    path.write_text("[sampling]\ntemperature = 9.5\n", "utf-8")
    set_language("ja")
    try:
        problem = load_settings(path)[1]
    finally:
        set_language("en")
    assert problem is not None
    assert "設定ファイル" in problem and "0（貪欲）から 5 までの数" in problem
    assert f"{path}.bad" in problem
