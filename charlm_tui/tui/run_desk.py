"""Provides RunDesk, the part of the app that drives training runs: start, pause, stop,
save, and the messages its TrainingRun posts, kept in a RunHistory the screens draw from.

CharLMApp is a RunDesk with its modes, keys, signals and settings around it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from textual.app import App
from textual.reactive import var

from charlm_tui.core import events
from charlm_tui.core.i18n import _
from charlm_tui.core.models import CharModel
from charlm_tui.core.runs import new_run_dir
from charlm_tui.core.train import TrainConfig
from charlm_tui.tui import messages
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.remembered import Remembered
from charlm_tui.tui.session import Dataset, RunHistory
from charlm_tui.tui.training_run import TrainingRun


class RunDesk(App[int]):
    """The training runs of an app: one at a time, on a thread of their own."""

    dataset: var[Dataset | None] = var(None, init=False)
    """The loaded corpus with its vocabulary and split; None until one loads."""
    training_state: var[str] = var("idle", init=False)
    """idle, starting, running, paused, stopping, finished or failed."""
    run_version: var[int] = var(0, init=False)
    """Bumps at every training event; screens redraw from `history` when it changes."""
    snapshot_version: var[int] = var(0, init=False)
    """Bumps when `snapshot` (the weights at a recent eval) changes."""

    options: TuiOptions
    threads: int
    history: RunHistory
    snapshot: CharModel | None
    train_config: TrainConfig
    training_run: TrainingRun | None
    _quit_requested: bool
    _manual_save_pending: bool

    remembered: Remembered

    def remember(self, **values: object) -> None:
        """Keep these settings for the next session (saved a moment later)."""
        self.remembered.change(**values)

    def _let_the_run_end(self) -> None:
        """Tell a running (or paused) trainer to stop at its next step boundary."""
        if self.training_run is not None:
            self.training_run.control.request_stop()

    @property
    def training_active(self) -> bool:
        return self.training_state in ("starting", "running", "paused", "stopping")

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Start a run on the current dataset; False (and a notice) when it cannot."""
        if self.dataset is None:
            self.notify(
                _("Load a corpus first (press 1 for the dataset screen)."), severity="warning"
            )
            return False
        if self.training_active:
            self.notify(_("Training is already running; press x to stop it first."))
            return False
        config = replace(
            config or self.train_config,
            threads=self.threads,  # a core stays with the UI (RELIABILITY.md)
            newlines_to_spaces=self.dataset.corpus.newlines_to_spaces,
        )
        self.train_config = config
        # the chart takes the run's axes now, while the trainer is built: a redraw when
        # the run reports its start would take the GIL from its first steps
        self.history = RunHistory(planned_steps=config.steps)
        self.run_version += 1
        self.training_state = "starting"
        out_dir = new_run_dir(config.model, self.options.runs_root)
        self.training_run = TrainingRun(self, config, self.dataset, out_dir)
        # The screen's switch to a running state (controls disabled, the focus moved) is
        # drawn while the trainer is built, not during its first steps.
        drawn = threading.Event()
        self.call_after_refresh(drawn.set)
        self.training_run.start(drawn)
        return True

    def pause_training(self) -> None:
        """Toggle pause; a paused trainer waits at a step boundary."""
        if self.training_run is None:
            return
        if self.training_state in ("starting", "running"):  # a starting one pauses at step 0
            self.training_run.control.pause()
            self.training_state = "paused"
        elif self.training_state == "paused":
            self.training_run.control.resume()
            self.training_state = "running"

    def stop_training(self) -> None:
        if self.training_active:
            self._let_the_run_end()
            self.training_state = "stopping"

    def request_save(self) -> None:
        if self.training_active and self.training_run is not None:
            self.training_run.control.request_save()
            self._manual_save_pending = True
            self.notify(_("A checkpoint will be written at the next step."))
        else:
            self.notify(_("Nothing to save: no training is running."))

    # --- messages from the training run -----------------------------------------------

    def _record(self, event: events.TrainingEvent, snapshot: CharModel | None = None) -> None:
        self.history.record(event)
        self.run_version += 1
        if snapshot is not None:
            self.snapshot = snapshot
            self.snapshot_version += 1

    def on_training_started(self, message: messages.TrainingStarted) -> None:
        self._record(message.event)
        if self.training_state in ("starting", "idle"):
            self.training_state = "running"

    def on_run_reported(self, message: messages.RunReported) -> None:
        for event in message.events:
            self._record(event)
            # Routine saves show on the training screen's checkpoint line; a toast is
            # kept for the saves someone asked for (w, stop, quit).
            if isinstance(event, events.CheckpointSaved) and (
                event.reason == "stop" or (event.reason == "last" and self._manual_save_pending)
            ):
                self._manual_save_pending = False
                saved = _("Checkpoint saved at step {step:,}: {path}")
                self.notify(saved.format(step=event.step, path=event.path), timeout=5)
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self.snapshot_version += 1
        if self.training_state == "starting":
            self.training_state = "running"

    def on_training_finished(self, message: messages.TrainingFinished) -> None:
        event = message.event
        self._record(event, message.snapshot)
        failed = event.reason in ("error", "non_finite")
        self.training_state = "failed" if failed else "finished"
        last = self.history.last_checkpoint
        if last is not None:
            self.remember(last_checkpoint=str(Path(last.path).resolve()))
        self.notify(event.message or event.reason, severity="error" if failed else "information")
        if self._quit_requested:
            self.exit(0)
