"""Provides the TUI tests' fixtures: no cursor blink, app builders, a scripted run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from charlm_tui.core import events
from charlm_tui.tui import messages
from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.options import TuiOptions
from tests.scripted_run import scripted_eval

# The tiny corpus (TINY_TEXT, the `tiny_corpus` fixture) is the whole suite's: tests/conftest.py


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A steady cursor, so that two screenshots of the same screen are the same."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., CharLMApp]:
    """Build a CharLMApp with one torch thread and its runs under tmp_path/runs."""

    def build(corpus: str, **options: object) -> CharLMApp:
        settings = {"corpus": corpus, "threads": 1, "runs_root": tmp_path / "runs", **options}
        return CharLMApp(TuiOptions(**settings))  # type: ignore[arg-type]

    return build


@pytest.fixture
def scripted_run() -> Callable[..., None]:
    """A function that posts a fixed training run to an app (see post_scripted_run)."""
    return post_scripted_run


def post_scripted_run(app: CharLMApp, vocab_size: int, *, evals: int = 6, total: int = 100) -> None:
    """Post a fixed training run to the app: the messages a TrainingRun posts, without a
    clock or torch."""
    app.post_message(
        messages.TrainingStarted(
            events.TrainingStarted(
                run_dir=Path("runs/demo"),
                model="bigram",
                n_params=21_459,
                vocab_size=vocab_size,
                total_steps=total,
            )
        )
    )
    best = float("inf")
    for i in range(1, evals + 1):
        step = i * 10
        train_loss = 3.9 - 0.25 * i
        val_loss = 3.95 - 0.22 * i
        best = min(best, val_loss)
        sample = "the clocks were striking thirteen" if i == evals else "xq ke,tw"
        reported = scripted_eval(
            step,
            total,
            (train_loss, val_loss),
            best,
            elapsed_s=step * 0.05,
            tokens_per_s=320.0,
            sample=sample,
        )
        app.post_message(messages.RunReported(reported))
    saved = events.CheckpointSaved(
        step=evals * 10, path=Path("runs/demo/last.safetensors"), reason="last"
    )
    app.post_message(messages.RunReported((saved,)))
