"""Provides the past-tense messages the training and loading workers post to the app.

Each wraps the frozen core event it came from. The training worker hands them to the
app through its inbox (CharLMApp._deliver), which the app empties at its tick; the start
and the end of a run also post a TrainingProgress to wake it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from charlm_tui.core import events
from charlm_tui.core.models import CharModel


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
    (None when the previous copy is under SNAPSHOT_INTERVAL_S old)."""

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


class TrainingProgress(Message):
    """Training messages are waiting in the app's inbox (see CharLMApp._deliver)."""


@dataclass
class CorpusLoadProgressed(Message):
    """Some bytes of a corpus download arrived; a newer report replaces it."""

    done: int
    total: int | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CorpusLoadProgressed)


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
