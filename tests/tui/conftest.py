"""Provides the TUI tests' fixtures: no cursor blink, a tiny corpus, app builders, a scripted run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from charlm_tui.core import events
from charlm_tui.tui import messages
from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.options import TuiOptions

# A few plain English sentences: small enough to train on in a second, big enough for a
# 16-character window in both the train and the val part.
TINY_TEXT = (
    "It was a bright cold day in April, and the clocks were striking thirteen. "
    "Holmes sat in his armchair with his eyes closed and his finger-tips together. "
    "Do you know, Watson, that it is the small things which matter most? "
    "The fog rolled down the street, and the lamps were lit early that evening. "
    "We had no visitors, but a letter lay upon the table, sealed with red wax.\n"
)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A steady cursor, so that two screenshots of the same screen are the same."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def tiny_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """TINY_TEXT written to tmp_path/tiny.txt; returns the relative path (the cwd is tmp_path).

    A relative path keeps tmp_path's random name out of the screenshots.
    """
    (tmp_path / "tiny.txt").write_text(TINY_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "tiny.txt"


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
        stepped = events.StepCompleted(
            step=step,
            total_steps=total,
            loss=train_loss,
            lr=1e-3,
            elapsed_s=step * 0.05,
            tokens_per_s=320.0,
        )
        evaluated = events.EvalCompleted(
            step=step,
            total_steps=total,
            train_loss=train_loss,
            val_loss=val_loss,
            best_val_loss=best,
            is_best=True,
            elapsed_s=step * 0.05,
            sample="the clocks were striking thirteen" if i == evals else "xq ke,tw",
        )
        app.post_message(messages.RunReported((stepped, evaluated)))
    saved = events.CheckpointSaved(
        step=evals * 10, path=Path("runs/demo/last.safetensors"), reason="last"
    )
    app.post_message(messages.RunReported((saved,)))
