"""Fixtures of the reliability tests: a fresh user's folders, app builders, the real sessions."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from charlm_tui.tui.app import CharLMApp, TuiOptions
from tests.conftest import write_tiny_corpus
from tests.reliability.harness import isolated_env, run_scenarios


@pytest.fixture
def fresh_user(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty working folder and the environment of a user whose folders are all in tmp."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    write_tiny_corpus(cwd)
    return cwd, isolated_env(tmp_path)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., CharLMApp]:
    """A CharLMApp with one torch thread and its runs under tmp_path/runs."""

    def build(corpus: str | Path, **options: object) -> CharLMApp:
        settings = {"corpus": str(corpus), "threads": 1, "runs_root": tmp_path / "runs"}
        settings.update(options)
        return CharLMApp(TuiOptions(**settings))  # type: ignore[arg-type]

    return build


@pytest.fixture(scope="session")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """The real processes of harness.SCENARIOS (the app and `charlm train` in a pty, ended
    by signals, keys and hang-ups; `charlm tui` with no terminal), all run at once."""
    if os.name != "posix":
        pytest.skip("needs a pty")
    return run_scenarios(tmp_path_factory.mktemp("sessions"))
