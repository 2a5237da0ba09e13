"""Provides TrainingRun: one training run on its own thread, reported to the app as messages.

The run owns the thread, the `RunControl` the app steers it with, the pacing of its step
messages and the weight copies for the console. Everything it reports reaches the app
through Textual's own queue (`post_message`), the same path the tests post to.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from textual.message import Message

from charlm_tui.core import events
from charlm_tui.core.control import RunControl
from charlm_tui.core.data import CorpusTooSmallError
from charlm_tui.core.models import CharModel
from charlm_tui.core.train import TrainConfig, Trainer, TrainResult
from charlm_tui.tui import messages

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from charlm_tui.tui.session import Dataset

# The screen redraws twice a second; more step messages only take the GIL from training.
STEP_POST_INTERVAL_S = 0.5
SNAPSHOT_INTERVAL_S = 0.5  # weight copies for the console: at most two a second
UI_SETTLE_TIMEOUT_S = 1.0  # the longest a built trainer waits for the screen to show the run


class TrainingRun:
    """A Trainer on a thread of its own; the app receives its events as messages."""

    def __init__(
        self, target: MessagePump, config: TrainConfig, dataset: Dataset, out_dir: Path
    ) -> None:
        self.target = target  # where the messages go (the app)
        self.config = config
        self.dataset = dataset
        self.out_dir = out_dir
        self.control = RunControl()
        self.done = threading.Event()  # set when the thread has ended, saved or not
        self.result: TrainResult | None = None
        self._thread: threading.Thread | None = None
        self._trainer: Trainer | None = None  # once built: the weights to copy
        self._last_post = 0.0
        self._last_snapshot = -SNAPSHOT_INTERVAL_S

    def start(self, drawn: threading.Event | None = None) -> None:
        """Build the trainer and run it on a new thread, once `drawn` is set (the screen
        shows the run starting) or after UI_SETTLE_TIMEOUT_S.

        The thread is not a daemon: a process that is leaving waits for its final save.
        """
        self._thread = threading.Thread(
            target=self._run, args=(drawn,), name="charlm-training", daemon=False
        )
        self._thread.start()

    def _run(self, drawn: threading.Event | None) -> None:
        try:
            self._trainer = Trainer(
                self.config,
                self.dataset.corpus.text,
                out_dir=self.out_dir,
                on_event=self.report,
                vocab=self.dataset.vocab,
                corpus_name=self.dataset.corpus.name,
            )
            if drawn is not None:
                drawn.wait(UI_SETTLE_TIMEOUT_S)
            self.result = self._trainer.run(self.control)
        except (CorpusTooSmallError, ValueError) as exc:
            self._post_failure(0, f"cannot train: {exc}")
        except Exception as exc:  # an unexpected failure still ends in words, not a trace
            step = self._trainer.step if self._trainer is not None else 0
            self._post_failure(step, f"training failed: {type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def report(self, event: events.TrainingEvent) -> None:
        """The trainer's callback, on the run's thread: thin the steps, copy, post."""
        if isinstance(event, events.StepCompleted):
            now = time.monotonic()
            if now - self._last_post >= STEP_POST_INTERVAL_S or event.step == event.total_steps:
                self._last_post = now
                self._post(messages.StepCompleted(event))
        elif isinstance(event, events.EvalCompleted):
            self._post(messages.EvalCompleted(event, self._snapshot(final=False)))
        elif isinstance(event, events.TrainingFinished):
            self._post(messages.TrainingFinished(event, self._snapshot(final=True)))
        else:
            self._post(messages.wrap_event(event))

    def _snapshot(self, final: bool) -> CharModel | None:
        """A copy of the weights for the console, at most every SNAPSHOT_INTERVAL_S."""
        now = time.monotonic()
        trainer = self._trainer
        if trainer is None or not (final or now - self._last_snapshot >= SNAPSHOT_INTERVAL_S):
            return None
        self._last_snapshot = now
        # building the copy draws from the global RNG; a run watched in the TUI must draw
        # exactly what the same run under `charlm train` draws
        with torch.random.fork_rng(devices=[]):
            return trainer.snapshot()

    def _post_failure(self, step: int, message: str) -> None:
        finished = events.TrainingFinished(step=step, reason="error", message=message)
        self._post(messages.TrainingFinished(finished))

    def _post(self, message: Message) -> None:
        """Hand a message to the app's queue; an app that has closed gets nothing."""
        try:
            self.target.post_message(message)
        except RuntimeError:  # its event loop closed while this thread ran on to its save
            pass
