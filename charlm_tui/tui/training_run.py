"""Provides TrainingRun: one training run on its own thread, reported to the app as messages.

The run owns the thread, the `RunControl` the app steers it with, the pacing of what it
reports and the weight copies for the console. Everything reaches the app through
Textual's own queue (`post_message`), the same path the tests post to: the start and the
end at once, the rest in one RunReported at most every REPORT_INTERVAL_S.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from charlm_tui.core import events
from charlm_tui.core.control import RunControl
from charlm_tui.core.data import CorpusTooSmallError
from charlm_tui.core.i18n import _
from charlm_tui.core.models import CharModel
from charlm_tui.core.run_folder import RunFolderInUse, claim_run_folder
from charlm_tui.core.train import TrainConfig, Trainer, TrainResult
from charlm_tui.tui import messages

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from charlm_tui.tui.session import Dataset

Reported = events.StepCompleted | events.EvalCompleted | events.CheckpointSaved

# The screen redraws twice a second; waking the UI more often only takes the GIL from the
# training thread (the notebook recipe reports over a hundred events a second).
REPORT_INTERVAL_S = 0.5
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
        self._last_snapshot = -SNAPSHOT_INTERVAL_S
        # what waits for the next RunReported; a timer posts it, and the lock keeps order
        self._lock = threading.Lock()
        self._pending: list[Reported] = []
        self._pending_snapshot: CharModel | None = None
        self._timer: threading.Timer | None = None
        self._last_post = -REPORT_INTERVAL_S

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
            with claim_run_folder(self.out_dir):  # as `charlm train`: one run per folder
                self._train(drawn)
        except (RunFolderInUse, OSError) as exc:
            said = _("cannot train in {folder}: {reason}")
            self._post_failure(0, said.format(folder=self.out_dir, reason=exc))
        finally:
            self.done.set()

    def _train(self, drawn: threading.Event | None) -> None:
        """Build the trainer and run it; a failure is posted in words."""
        try:
            self._trainer = Trainer(
                self.config,
                self.dataset.corpus.text,
                out_dir=self.out_dir,
                on_event=self.report,
                vocab=self.dataset.vocab,
                corpus_name=self.dataset.corpus.reference,  # a file by its absolute path
            )
            if drawn is not None:
                drawn.wait(UI_SETTLE_TIMEOUT_S)
            self.result = self._trainer.run(self.control)
        except (CorpusTooSmallError, ValueError) as exc:
            self._post_failure(0, _("cannot train: {reason}").format(reason=exc))
        except Exception as exc:  # an unexpected failure still ends in words, not a trace
            step = self._trainer.step if self._trainer is not None else 0
            said = _("training failed: {kind}: {reason}")
            self._post_failure(step, said.format(kind=type(exc).__name__, reason=exc))

    def report(self, event: events.TrainingEvent) -> None:
        """The trainer's callback, on the run's thread: the start and the end go at once,
        the rest waits for the next RunReported (only the latest step of a batch)."""
        if isinstance(event, events.TrainingStarted):
            with self._lock:
                self._post_pending()
                self._post(messages.TrainingStarted(event))
        elif isinstance(event, events.TrainingFinished):
            snapshot = self._snapshot(final=True)
            with self._lock:
                self._post_pending()
                self._post(messages.TrainingFinished(event, snapshot))
        else:
            snapshot = (
                self._snapshot(final=False) if isinstance(event, events.EvalCompleted) else None
            )
            with self._lock:
                if isinstance(event, events.StepCompleted):
                    self._pending = [
                        e for e in self._pending if not isinstance(e, events.StepCompleted)
                    ]
                self._pending.append(event)
                if snapshot is not None:
                    self._pending_snapshot = snapshot
                if self._timer is None:  # the first of a batch: post it when it is due
                    due = self._last_post + REPORT_INTERVAL_S - time.monotonic()
                    self._timer = threading.Timer(max(0.0, due), self._post_when_due)
                    self._timer.daemon = True
                    self._timer.start()

    def _post_when_due(self) -> None:
        with self._lock:
            self._post_pending()

    def _post_pending(self) -> None:
        """Post what waits as one RunReported; the caller holds the lock."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            batch, snapshot = tuple(self._pending), self._pending_snapshot
            self._pending, self._pending_snapshot = [], None
            self._last_post = time.monotonic()
            self._post(messages.RunReported(batch, snapshot))

    def _snapshot(self, final: bool) -> CharModel | None:
        """A copy of the weights for the console, at most every SNAPSHOT_INTERVAL_S."""
        now = time.monotonic()
        trainer = self._trainer
        if trainer is None or not (final or now - self._last_snapshot >= SNAPSHOT_INTERVAL_S):
            return None
        self._last_snapshot = now
        return trainer.snapshot()  # a deep copy: it draws nothing from the global RNG

    def _post_failure(self, step: int, message: str) -> None:
        finished = events.TrainingFinished(step=step, reason="error", message=message)
        self._post(messages.TrainingFinished(finished))

    def _post(self, message: Message) -> None:
        """Hand a message to the app's queue; an app that has closed gets nothing."""
        try:
            self.target.post_message(message)
        except RuntimeError:  # its event loop closed while this thread ran on to its save
            pass
