"""Provides CharLMApp, the training worker it owns, and `run_tui`, the entry the CLI calls.

The App holds the state every screen draws from (the dataset, the run history, the latest
snapshot of the weights), so screens can be left and rebuilt while training goes on in a
thread worker. That worker only posts messages; stopping is a `RunControl` request that the
trainer checks at every step boundary, so quitting never waits on a busy loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import torch
from textual import on, work
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.events import Event, Key
from textual.message import Message
from textual.message_pump import MessagePump
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker, WorkerState

from charlm_tui.core import events
from charlm_tui.core.control import RunControl
from charlm_tui.core.corpus import (
    DEFAULT_CORPUS,
    CorpusError,
    load_corpus_or_fallback,
    newlines_default,
)
from charlm_tui.core.data import CorpusTooSmallError
from charlm_tui.core.models import CharModel
from charlm_tui.core.runs import new_run_dir
from charlm_tui.core.train import TrainConfig, Trainer, TrainResult
from charlm_tui.tui import messages
from charlm_tui.tui.commands import CharLMCommands
from charlm_tui.tui.key_queue import KeyQueue
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.screens.dataset import DatasetScreen
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.session import Dataset, RunHistory

HEADLESS_HINT = (
    "charlm-tui needs an interactive terminal (this one is {why}); "
    "use the headless CLI instead: charlm train --help"
)

QUIT_GRACE_S = 30.0  # longest wait for the trainer to reach a step boundary and save


WATCHDOG_SAVE_S = 60.0  # after a signal: the longest wait for the trainer's final save
WATCHDOG_GRACE_S = 3.0  # then the longest an orderly shutdown may take (1.3 s measured)
# The app's tick: it hands the queued training messages to their handlers, then the
# screen draws what they changed, in one screen update. Redrawing at each of the notebook
# recipe's hundred events a second, or even four times a second, took the GIL from the
# training thread (docs/performance.md).
FOLLOW_INTERVAL_S = 0.5
STEP_POST_INTERVAL_S = 0.5  # at most 2 step messages a second: as often as the tick
UI_SETTLE_TIMEOUT_S = 1.0  # the longest a built trainer waits for the screen to show the run
SNAPSHOT_INTERVAL_S = 0.5  # weight copies for the console: at most two a second


def default_threads() -> int:
    """Leave one core to the UI: two busy threads on two cores slowed a step ~10x."""
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class TuiOptions:
    """What `charlm tui` can set; every field has a sensible default."""

    corpus: str = DEFAULT_CORPUS  # a catalog name or a path
    newlines_to_spaces: bool | None = None  # None: on for sherlock (N1), off otherwise
    encoding: str = "utf-8"  # of a local file
    encoding_errors: str = "strict"  # or "replace"
    model: str = "bigram"
    checkpoint: Path | None = None  # open it in the console at start
    runs_root: Path | None = None  # where run folders go (default: the user data dir)
    threads: int | None = None  # torch threads while the UI is up (default: cores - 1)
    device: str = "auto"
    load_on_start: bool = True
    install_signal_handlers: bool = False  # run_tui turns this on

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> TuiOptions:
        """From `charlm tui`'s parsed arguments (any it lacks keep their defaults)."""
        given = vars(args)
        options = cls()
        for name in ("corpus", "encoding", "threads", "model", "device"):
            if given.get(name) is not None:
                setattr(options, name, given[name])
        if given.get("encoding_errors"):
            options.encoding_errors = given["encoding_errors"]
        if given.get("newlines_to_spaces") is not None:
            options.newlines_to_spaces = given["newlines_to_spaces"]
        for name in ("checkpoint", "runs_root"):
            if given.get(name):
                setattr(options, name, Path(given[name]))
        if given.get("out"):
            options.runs_root = Path(given["out"])
        return options


class CharLMApp(App[int]):
    """charlm-tui: prepare a corpus, train a character model, talk to it."""

    TITLE = "charlm-tui"
    CSS_PATH = "app.tcss"
    MODES = {
        "dataset": DatasetScreen,
        "training": TrainingScreen,
        "console": GenerateScreen,
    }
    DEFAULT_MODE = "dataset"
    COMMANDS = App.COMMANDS | {CharLMCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-normal"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (16, "-tall")]
    BINDINGS = [
        Binding("1,d", "switch_mode('dataset')", "Dataset", id="dataset"),
        Binding("2,t", "switch_mode('training')", "Train", id="training"),
        Binding("3,g", "switch_mode('console')", "Console", id="console"),
        Binding("f1", "help", "Help", priority=True, id="help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]

    dataset: var[Dataset | None] = var(None, init=False)
    """The loaded corpus with its vocabulary and split; None until one loads."""
    loading: var[str | None] = var(None, init=False)
    """The corpus being loaded, or None."""
    load_error: var[str | None] = var(None, init=False)
    """Why the last load failed, in words, or None."""
    load_progress: var[tuple[int, int | None] | None] = var(None, init=False)
    """(bytes done, total or None) of a corpus download."""
    training_state: var[str] = var("idle", init=False)
    """idle, starting, running, paused, stopping, finished or failed."""
    run_version: var[int] = var(0, init=False)
    """Bumps at every training event; screens redraw from `history` when it changes."""
    snapshot_version: var[int] = var(0, init=False)
    """Bumps when `snapshot` (the weights at the latest eval) changes."""

    def __init__(self, options: TuiOptions | None = None) -> None:
        super().__init__()
        self.options = options or TuiOptions()
        self.threads = self.options.threads or default_threads()
        self.history = RunHistory()
        self.snapshot: CharModel | None = None
        self.train_config = TrainConfig.defaults_for(self.options.model)
        self._control = RunControl()
        self._training_worker: Worker[None] | None = None
        self.training_done = threading.Event()  # set when the training thread has ended
        self.training_done.set()
        self._quit_requested = False
        self._manual_save_pending = False
        self._signals_installed: list[int] = []
        self.result: TrainResult | None = None  # how the last run ended (run_tui reports it)
        self._inbox: deque[Message] = deque()  # training messages not yet handled
        self._wake_pending = threading.Event()  # a TrainingProgress is on its way
        self._key_queue = KeyQueue(self._route_key, self._key_pumps)

    # --- lifecycle --------------------------------------------------------------------

    def on_mount(self) -> None:
        torch.set_num_threads(self.threads)
        self._key_queue.start()
        self.set_interval(FOLLOW_INTERVAL_S, self._follow_run)
        if self.options.install_signal_handlers:
            self._install_signal_handlers()
        if self.options.load_on_start:
            self.load_dataset(self.options.corpus, self.options.newlines_to_spaces)

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP (an SSH session dropped) and SIGINT quit as Ctrl+C does."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            self._signals_installed.append(sig)

    async def on_event(self, event: Event) -> None:
        # A key just read from the terminal waits its turn (see KeyQueue); a forwarded
        # one is on its way back up from a widget, to the bindings.
        if isinstance(event, Key) and not event.is_forwarded and self._key_queue.running:
            self._key_queue.put(event)
            return
        await super().on_event(event)

    async def _route_key(self, key: Key) -> None:
        try:
            await super().on_event(key)  # Textual's routing: priority bindings, then the focus
        except Exception as error:  # as Textual's own message loop does with a handler's error
            self._handle_exception(error)

    def _key_pumps(self) -> list[MessagePump]:
        """Where a key's work goes on: the app and the current screen's widgets."""
        screen = self._screen_if_any()
        return [self] if screen is None else [self, *screen.walk_children(with_self=True)]

    def _screen_if_any(self) -> Screen[object] | None:
        """The current screen; None while the app closes (its screens are gone, its
        tick and its keys not yet)."""
        try:
            return self.screen
        except ScreenStackError:
            return None

    def on_unmount(self) -> None:
        self._key_queue.stop()
        # However the app ends (a test's app leaves without exit()), a run must stop, or
        # its thread (paused, or a million steps from the end) keeps the process alive.
        self._let_the_run_end()
        loop = asyncio.get_running_loop()
        for sig in self._signals_installed:
            loop.remove_signal_handler(sig)
        self._signals_installed.clear()

    def _on_signal(self, sig: int) -> None:
        # The terminal may be gone (SIGHUP): leave now. The trainer sees the stop flag at
        # its next step boundary and saves; the process ends when its thread does.
        self.exit(return_code=128 + sig)
        if self.is_headless:  # a test's app: no terminal to lose, and no process to end
            return
        threading.Thread(
            target=self._exit_watchdog, args=(128 + sig,), name="exit-watchdog", daemon=True
        ).start()

    def _exit_watchdog(self, code: int) -> None:
        """Make sure a signalled app ends even if the terminal it would restore is gone.

        With its pty closed (an SSH session dropped, a tmux pane killed) Textual's
        shutdown can block for ever on its output thread, leaving an orphan process.
        Give the trainer time to reach its step boundary and save, give the orderly
        shutdown a few seconds, then end the process.
        """
        self.training_done.wait(WATCHDOG_SAVE_S)
        time.sleep(WATCHDOG_GRACE_S)
        os._exit(code)

    def exit(self, result: int | None = None, return_code: int = 0, message=None) -> None:  # noqa: ANN001
        # Whatever the path out, the trainer must see the stop flag, or its thread (a
        # non-daemon executor thread) would keep the process alive after the UI is gone.
        self._let_the_run_end()
        super().exit(result, return_code, message)

    def _let_the_run_end(self) -> None:
        """Tell a running (or paused) trainer to stop at its next step boundary."""
        self._control.request_stop()

    # --- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def action_interrupt(self) -> None:
        """Ctrl+C copies when text is selected in an input, and quits otherwise."""
        focused = self.focused
        if isinstance(focused, (Input, TextArea)) and not focused.selection.is_empty:
            focused.action_copy()
            return
        self.action_quit()

    def action_quit(self) -> None:  # type: ignore[override]
        """Quit; if training runs, stop it at the next step boundary and save first."""
        if self.training_active:
            if self._quit_requested:  # a second press leaves at once; the save still happens
                self.exit(0)
                return
            self._quit_requested = True
            self.stop_training()
            self.notify("Stopping training at the next step and saving a checkpoint…")
            self.set_timer(QUIT_GRACE_S, self.exit)
            return
        self.exit(0)

    # --- the dataset ------------------------------------------------------------------

    def load_dataset(self, corpus: str, newlines_to_spaces: bool | None = None) -> None:
        """Load a catalog corpus or a local file in a thread; the dataset screen watches."""
        if newlines_to_spaces is None:
            newlines_to_spaces = newlines_default(corpus)
        self.load_progress = None
        self.loading = corpus
        self._load_worker(corpus, newlines_to_spaces)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_worker(self, corpus: str, newlines_to_spaces: bool) -> Dataset:
        def progress(done: int, total: int | None) -> None:
            self.post_message(messages.CorpusLoadProgressed(done, total))

        loaded = load_corpus_or_fallback(
            corpus,
            fallback=self.dataset is None,  # only the first load opens python-docs instead
            newlines_to_spaces=newlines_to_spaces,
            encoding=self.options.encoding,
            errors=self.options.encoding_errors,
            progress=progress,
        )
        dataset = Dataset.build(loaded)
        _warm_up_torch()
        return dataset

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "load":
            if event.state == WorkerState.SUCCESS and isinstance(worker.result, Dataset):
                self.loading = None
                self.load_error = None
                self.dataset = worker.result
            elif event.state == WorkerState.ERROR:
                self.loading = None
                error = worker.error
                if isinstance(error, (CorpusError, CorpusTooSmallError)):
                    self.load_error = str(error)
                else:
                    self.load_error = f"the corpus could not be loaded ({error}); try another file"
        elif worker.group == "training" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            if self.training_state not in ("finished", "failed"):
                self.training_state = "finished" if event.state == WorkerState.SUCCESS else "failed"
            if self._quit_requested:
                self.exit(0)

    def on_corpus_load_progressed(self, message: messages.CorpusLoadProgressed) -> None:
        self.load_progress = (message.done, message.total)

    def set_dataset(self, dataset: Dataset) -> None:
        """Use an already-built dataset (tests, and the CLI when it has one)."""
        self.load_error = None
        self.dataset = dataset

    # --- training ---------------------------------------------------------------------

    @property
    def training_active(self) -> bool:
        return self.training_state in ("starting", "running", "paused", "stopping")

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Start a run on the current dataset; False (and a notice) when it cannot."""
        if self.dataset is None:
            self.notify("Load a corpus first (press 1 for the dataset screen).", severity="warning")
            return False
        if self.training_active:
            self.notify("Training is already running; press x to stop it first.")
            return False
        config = replace(
            config or self.train_config,
            threads=self.threads,  # a core stays with the UI (RELIABILITY.md)
            newlines_to_spaces=self.dataset.corpus.newlines_to_spaces,
        )
        self.train_config = config
        # the chart takes the run's axes now, while the trainer is built, rather than when
        # the run reports its start: a redraw then would take the GIL from its first steps
        self.history = RunHistory(planned_steps=config.steps)
        self.run_version += 1
        self._control = RunControl()
        self.training_state = "starting"
        runs_root = self.options.runs_root
        out_dir = new_run_dir(config.model, runs_root)
        self.training_done = threading.Event()
        # The screen's switch to a running state (controls disabled, the focus moved:
        # 0.05 s of this thread here, 0.2-0.35 s before SteadyFooter) is drawn while the
        # trainer is built, not during its first steps, where it took the GIL from them.
        drawn = threading.Event()
        self.call_after_refresh(drawn.set)
        self._training_worker = self._train(
            config, self.dataset, out_dir, self._control, self.training_done, drawn
        )
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="training")
    def _train(
        self,
        config: TrainConfig,
        dataset: Dataset,
        out_dir: Path,
        control: RunControl,
        done: threading.Event,
        drawn: threading.Event,
    ) -> None:
        """Build the trainer and run it; this thread touches no widget, it only delivers.

        The run begins once `drawn` is set (the screen shows the run starting), or after
        UI_SETTLE_TIMEOUT_S. `done` is set when the thread ends: the worker object reads as
        cancelled as soon as the app shuts down, but the thread runs on to its step
        boundary and final save.
        """
        trainer: Trainer | None = None
        last_post = 0.0
        last_snapshot = -SNAPSHOT_INTERVAL_S

        def report(event: events.TrainingEvent) -> None:
            nonlocal last_post, last_snapshot
            if isinstance(event, events.StepCompleted):
                # The screen redraws a few times a second, so a few step messages a second
                # are all it can use; posting every step made the UI thread compete with
                # training for the GIL (the notebook model runs hundreds of steps a second).
                now = time.monotonic()
                if now - last_post >= STEP_POST_INTERVAL_S or event.step == event.total_steps:
                    last_post = now
                    self._deliver(messages.StepCompleted(event))
            elif isinstance(event, (events.EvalCompleted, events.TrainingFinished)):
                snapshot = None
                now = time.monotonic()
                final = isinstance(event, events.TrainingFinished)
                # The console follows the latest weights; a copy a few times a second is
                # all it can show (the notebook recipe evaluates about 100 times a second).
                if trainer is not None and (final or now - last_snapshot >= SNAPSHOT_INTERVAL_S):
                    last_snapshot = now
                    # building the copy draws from the global RNG; a run watched in the TUI
                    # must draw exactly what the same run under `charlm train` draws
                    with torch.random.fork_rng(devices=[]):
                        snapshot = trainer.snapshot()
                if isinstance(event, events.EvalCompleted):
                    self._deliver(messages.EvalCompleted(event, snapshot))
                else:
                    self._deliver(messages.TrainingFinished(event, snapshot))
            else:
                self._deliver(messages.wrap_event(event))

        try:
            trainer = Trainer(
                config,
                dataset.corpus.text,
                out_dir=out_dir,
                on_event=report,
                vocab=dataset.vocab,
                corpus_name=dataset.corpus.name,
            )
            drawn.wait(UI_SETTLE_TIMEOUT_S)
            self.result = trainer.run(control)
        except (CorpusTooSmallError, ValueError) as exc:
            self._post_failure(0, f"cannot train: {exc}")
        except Exception as exc:  # an unexpected failure still ends in words, not a trace
            step = trainer.step if trainer is not None else 0
            self._post_failure(step, f"training failed: {type(exc).__name__}: {exc}")
        finally:
            done.set()

    def _post_failure(self, step: int, message: str) -> None:
        self._deliver(
            messages.TrainingFinished(
                events.TrainingFinished(step=step, reason="error", message=message)
            )
        )

    def _deliver(self, message: Message) -> None:
        """From the training thread: queue a training message for the app's next tick.

        The notebook recipe reports over a hundred events a second (evals and saves). Each
        posted on its own cost the UI thread a dispatch, with the GIL, and training
        slowed; the tick hands over everything queued since the last one, in order. The
        start and the end of a run change the app's state, so they wake it at once.
        """
        self._inbox.append(message)
        urgent = isinstance(message, (messages.TrainingStarted, messages.TrainingFinished))
        if urgent and not self._wake_pending.is_set():
            self._wake_pending.set()
            self.post_message(messages.TrainingProgress())

    def on_training_progress(self, _: messages.TrainingProgress) -> None:
        self._wake_pending.clear()  # before draining: a message queued after is woken for
        self._handle_inbox()

    def _handle_inbox(self) -> None:
        """Handle the queued training messages in the order they happened, each by the
        handler Textual would have called for it (`on_eval_completed`, ...)."""
        while self._inbox:
            message = self._inbox.popleft()
            getattr(self, message.handler_name)(message)

    def _follow_run(self) -> None:
        """The tick: take in what the run reported, then let the screen draw it."""
        self._handle_inbox()
        screen = self._screen_if_any()
        if isinstance(screen, CharLMScreen) and screen.is_mounted:
            screen.follow_run()

    def pause_training(self) -> None:
        """Toggle pause; a paused trainer waits at a step boundary."""
        if self.training_state == "running":
            self._control.pause()
            self.training_state = "paused"
        elif self.training_state == "paused":
            self._control.resume()
            self.training_state = "running"

    def stop_training(self) -> None:
        if self.training_active:
            self._let_the_run_end()
            self.training_state = "stopping"

    def request_save(self) -> None:
        if self.training_active:
            self._control.request_save()
            self._manual_save_pending = True
            self.notify("A checkpoint will be written at the next step.")
        else:
            self.notify("Nothing to save: no training is running.")

    # --- messages from the training worker --------------------------------------------

    def _record(self, event: events.TrainingEvent) -> None:
        self.history.record(event)
        self.run_version += 1

    def on_training_started(self, message: messages.TrainingStarted) -> None:
        self._record(message.event)
        if self.training_state in ("starting", "idle"):
            self.training_state = "running"

    def on_step_completed(self, message: messages.StepCompleted) -> None:
        self._record(message.event)
        if self.training_state == "starting":
            self.training_state = "running"

    def on_eval_completed(self, message: messages.EvalCompleted) -> None:
        self._record(message.event)
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self.snapshot_version += 1

    def on_checkpoint_saved(self, message: messages.CheckpointSaved) -> None:
        # Routine saves at each eval show on the training screen's checkpoint line; a toast
        # is kept for the saves someone asked for (w, stop, quit).
        self._record(message.event)
        event = message.event
        if event.reason == "stop" or (event.reason == "last" and self._manual_save_pending):
            self._manual_save_pending = False
            self.notify(f"Checkpoint saved at step {event.step:,}: {event.path}", timeout=5)

    def on_training_finished(self, message: messages.TrainingFinished) -> None:
        event = message.event
        self._record(event)
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self.snapshot_version += 1
        failed = event.reason in ("error", "non_finite")
        self.training_state = "failed" if failed else "finished"
        self.notify(event.message or event.reason, severity="error" if failed else "information")
        if self._quit_requested:
            self.exit(0)


_warmed_up = False


def _warm_up_torch() -> None:
    """Pay torch's one-time lazy imports (~2 s for the first optimizer) before Start is pressed."""
    global _warmed_up
    if not _warmed_up:
        _warmed_up = True
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _why_not_interactive(stdout: TextIO) -> str | None:
    # textual-serve and textual-web run the app over pipes: their driver is the terminal
    if os.environ.get("TEXTUAL_DRIVER"):
        return None
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb"
    try:
        if not stdout.isatty():
            return "not a TTY"
        # Textual draws on stderr: `charlm tui 2>log` would paint the app into the log
        if stdout is sys.stdout and sys.__stderr__ is not None and not sys.__stderr__.isatty():
            return "stderr is not a TTY"
    except (AttributeError, ValueError):
        return "not a TTY"
    return None


def run_tui(
    options: TuiOptions | argparse.Namespace | None = None, *, stdout: TextIO | None = None
) -> int:
    """Start the app and return its exit status; 2 (and a hint) without a usable terminal.

    `options` may be the Namespace `charlm tui` parsed.
    """
    out = stdout or sys.stdout
    why = _why_not_interactive(out)
    if why is not None:
        print(HEADLESS_HINT.format(why=why), file=out)
        return 2
    if isinstance(options, argparse.Namespace):
        options = TuiOptions.from_namespace(options)
    options = replace(options or TuiOptions(), install_signal_handlers=True)
    app = CharLMApp(options)
    app.run()
    if app.result is not None and app.result.reason == "stopped":
        try:
            print(f"charlm-tui: {app.result.message} (using charlm train)", file=out)
        except OSError:  # the terminal hung up (SSH dropped): the checkpoint is saved
            pass
    return int(app.return_code or 0)
