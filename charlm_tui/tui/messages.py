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
class RunReported(Message):
    """What a run reported since its previous RunReported, in order: every eval and save,
    and its latest step. `snapshot` is a CPU copy of the weights at one of those evals, or
    None (the copies are thinned: see TrainingRun)."""

    events: tuple[events.StepCompleted | events.EvalCompleted | events.CheckpointSaved, ...]
    snapshot: CharModel | None = None


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
