"""Provides the past-tense messages the training run and the corpus loader post to the app.

Each wraps the frozen core event it came from. A TrainingRun posts them to the app from its
thread (tui/training_run.py); the tests post the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from charlm_tui.core import events
from charlm_tui.core.models import CharModel
from charlm_tui.tui.session import Dataset


@dataclass
class TrainingStarted(Message):
    """Training began (or resumed)."""

    event: events.TrainingStarted


@dataclass
class StepCompleted(Message):
    """One optimisation step finished; a newer one replaces it in the queue."""

    event: events.StepCompleted

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepCompleted)


@dataclass
class EvalCompleted(Message):
    """Train and validation loss were measured; `snapshot` is a CPU copy of the weights
    (None when the previous copy is recent: see TrainingRun)."""

    event: events.EvalCompleted
    snapshot: CharModel | None = None


@dataclass
class CheckpointSaved(Message):
    """A checkpoint was written."""

    event: events.CheckpointSaved


@dataclass
class TrainingFinished(Message):
    """Training ended: completed, stopped, diverged or failed; `snapshot` as above."""

    event: events.TrainingFinished
    snapshot: CharModel | None = None


@dataclass
class CorpusLoadProgressed(Message):
    """Some bytes of a corpus download arrived; a newer report replaces it."""

    done: int
    total: int | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CorpusLoadProgressed)


@dataclass
class DatasetLoaded(Message):
    """Load number `request` ended: with its `dataset`, or with `error`, in words."""

    request: int
    dataset: Dataset | None
    error: str | None


def wrap_event(event: events.TrainingEvent) -> Message:
    """The message that carries a core training event to the app."""
    if isinstance(event, events.StepCompleted):
        return StepCompleted(event)
    if isinstance(event, events.EvalCompleted):
        return EvalCompleted(event)
    if isinstance(event, events.CheckpointSaved):
        return CheckpointSaved(event)
    if isinstance(event, events.TrainingStarted):
        return TrainingStarted(event)
    if isinstance(event, events.TrainingFinished):
        return TrainingFinished(event)
    raise TypeError(f"not a training event: {event!r}")
