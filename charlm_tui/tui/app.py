"""Provides CharLMApp, the app shell: its modes, keys, signals and quitting, and its state.

The App holds what every screen draws from (the dataset, the run history, the latest copy
of the weights), so screens can be left and rebuilt while a TrainingRun trains on its own
thread and posts what happens as messages. Stopping is a `RunControl` request that the
trainer checks at every step boundary, so quitting never waits on a busy loop.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.events import Event, Key
from textual.reactive import var
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input, TextArea

from charlm_tui.core import events
from charlm_tui.core.corpus import newlines_default
from charlm_tui.core.i18n import N_, NAMES, _, language_from_environment, set_language
from charlm_tui.core.models import CharModel
from charlm_tui.core.runs import new_run_dir
from charlm_tui.core.settings import Settings
from charlm_tui.core.train import TrainConfig, TrainResult
from charlm_tui.tui import messages
from charlm_tui.tui.commands import CharLMCommands
from charlm_tui.tui.key_queue import KeyQueue
from charlm_tui.tui.loading import load_dataset_posting
from charlm_tui.tui.options import TuiOptions, default_threads
from charlm_tui.tui.presenter import Presenter
from charlm_tui.tui.remembered import Remembered, usable_corpus
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.screens.dataset import DatasetScreen
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from charlm_tui.tui.screens.tour import TourScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.session import Dataset, RunHistory
from charlm_tui.tui.terminal import end_process_after_save
from charlm_tui.tui.training_run import TrainingRun

QUIT_GRACE_S = 30.0  # longest wait for the trainer to reach a step boundary and save
# The screen draws what the run changed at this tick, in one update: redrawing at each
# event took the GIL from the training thread (docs/performance.md).
FOLLOW_INTERVAL_S = 0.5

GO_DATASET = N_("Go to the dataset: pick a corpus, see its vocabulary")
GO_TRAINING = N_("Go to training: train a model, watch the chart")
GO_CONSOLE = N_("Go to the console: type and generate text")
HELP = N_("Help: keys and what the numbers mean")
INTERRUPT = N_("Quit, or copy the text selected in an input")
QUIT = N_("Quit (a run stops at a step and saves)")
LANGUAGE = N_("Switch the language: English / 日本語")
PRESENT = N_("Presenter mode: no chrome, large and high contrast, for a projector")


class CharLMApp(App[int]):
    """charlm-tui: prepare a corpus, train a character model, talk to it."""

    TITLE = "charlm-tui"
    CSS_PATH = "app.tcss"
    MODES = {
        "dataset": DatasetScreen,
        "training": TrainingScreen,
        "console": GenerateScreen,
        "tour": TourScreen,
    }
    DEFAULT_MODE = "dataset"
    COMMANDS = App.COMMANDS | {CharLMCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-normal"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (16, "-tall"), (34, "-roomy")]
    BINDINGS = [
        Binding("1,d", "switch_mode('dataset')", N_("Dataset"), id="dataset", tooltip=GO_DATASET),
        Binding("2,t", "switch_mode('training')", N_("Train"), id="training", tooltip=GO_TRAINING),
        Binding("3,g", "switch_mode('console')", N_("Console"), id="console", tooltip=GO_CONSOLE),
        Binding("f1", "help", N_("Help"), priority=True, id="help", tooltip=HELP),
        Binding("question_mark", "help", N_("Help"), show=False),
        Binding("q", "quit", N_("Quit"), id="quit", tooltip=QUIT),
        Binding("ctrl+q", "quit", N_("Quit"), show=False, priority=True),
        # F2-F10 turn the console's knobs; F12 is free on every screen and types nothing, and
        # j (free on every screen; typed as a letter in an input) is there where F12 is not
        Binding(
            "f12", "toggle_language", N_("Language"), show=False, priority=True, tooltip=LANGUAGE
        ),
        Binding("j", "toggle_language", N_("Language"), show=False, tooltip=LANGUAGE),
        Binding("ctrl+c", "interrupt", show=False, priority=True, tooltip=INTERRUPT),
        # F5, a clicker's "start presentation", turns a knob in the console and F12 switches
        # the language: the clickers' Shift+F5 ("from here") is free everywhere, and v
        Binding("shift+f5", "toggle_present", show=False, priority=True, tooltip=PRESENT),
        Binding("v", "toggle_present", show=False, tooltip=PRESENT),
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
    """Bumps when `snapshot` (the weights at a recent eval) changes."""
    lang: var[str] = var("en", init=False)
    """The interface's language (en or ja); screens redraw their words when it changes.
    Change it only through apply_language."""

    def __init__(self, options: TuiOptions | None = None) -> None:
        super().__init__()
        self.options = options or TuiOptions()
        self.threads = self.options.threads or default_threads()
        self.history = RunHistory()
        self.snapshot: CharModel | None = None
        self.train_config = TrainConfig.defaults_for(self.options.model)
        self.training_run: TrainingRun | None = None  # the latest run, running or not
        self._quit_requested = False
        self._manual_save_pending = False
        self._load_request = 0  # numbers the loads: only the latest one's result counts
        self._signals_installed: list[int] = []
        self._key_queue = KeyQueue.for_app(self)
        self.remembered = Remembered(self.options.settings_path, enabled=self.options.remember)
        self.presenter = Presenter(self)
        # --lang first, then the language chosen in the app last time, then the locale
        self.apply_language(
            self.options.lang or self.settings.language or language_from_environment()
        )
        if self.options.corpus_from_settings:
            self._open_remembered_corpus()

    @property
    def result(self) -> TrainResult | None:
        """How the latest run ended (run_tui reports it); None before it has."""
        return self.training_run.result if self.training_run is not None else None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """What the app remembers between runs (core.settings)."""
        return self.remembered.settings

    def remember(self, **values: object) -> None:
        """Keep these settings for the next run (saved a moment later)."""
        self.remembered.change(**values)

    def _open_remembered_corpus(self) -> None:
        """Without --corpus, the corpus of the last session, if it is still there."""
        settings = self.settings
        corpus = usable_corpus(settings.last_corpus)
        if corpus is None:
            return
        self.options = replace(self.options, corpus=corpus)
        if self.options.newlines_to_spaces is None:
            self.options.newlines_to_spaces = settings.last_newlines_to_spaces

    def _apply_settings(self) -> None:
        """The remembered theme, the settings file's problem if any, and the theme watch."""
        self.remembered.attach(self)
        theme = self.settings.theme
        if theme and theme in self.available_themes:
            self.theme = theme
        elif theme:
            self.notify(
                _("The theme {theme} is not available here; using the default.").format(
                    theme=theme
                ),
                severity="warning",
            )
        if self.remembered.problem:
            self.notify(self.remembered.problem, severity="error", timeout=20)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.options.present:
            self.presenter.set(True)

    def _theme_changed(self, theme: Theme) -> None:
        if not self.presenter.made_theme_change(theme.name):  # only the user's own choice
            self.remember(theme=theme.name)

    def action_toggle_present(self) -> None:
        self.presenter.toggle()

    def on_mount(self) -> None:
        self._apply_settings()
        torch.set_num_threads(self.threads)
        self._key_queue.start()
        self.set_interval(FOLLOW_INTERVAL_S, self._follow_run)
        if self.options.install_signal_handlers:
            self._install_signal_handlers()
        if self.options.load_on_start:
            self.load_dataset(self.options.corpus, self.options.newlines_to_spaces)
        if self.options.tour:
            self.switch_mode("tour")

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

    def _screen_if_any(self) -> Screen[object] | None:
        """The current screen; None while the app closes (its screens go before its tick)."""
        try:
            return self.screen
        except ScreenStackError:
            return None

    def on_unmount(self) -> None:
        self._key_queue.stop()
        self.remembered.save_now()  # a change still waiting for its moment
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
        if not self.is_headless:  # a test's app has no terminal to lose, no process to end
            run = self.training_run
            end_process_after_save(128 + sig, run.done if run is not None else None)

    def exit(self, result: int | None = None, return_code: int = 0, message=None) -> None:  # noqa: ANN001
        # Whatever the path out, the trainer must see the stop flag, or its thread (not a
        # daemon) would keep the process alive after the UI is gone.
        self._let_the_run_end()
        super().exit(result, return_code, message)

    def _let_the_run_end(self) -> None:
        """Tell a running (or paused) trainer to stop at its next step boundary."""
        if self.training_run is not None:
            self.training_run.control.request_stop()

    # --- the language -----------------------------------------------------------------

    def apply_language(self, lang: str) -> None:
        """Switch the interface to `lang` (one of core.i18n.LANGUAGES): every language change
        goes through here. The screens, the footer, the mode bar and an open help page
        redraw their words at once; a run and the console's transcript carry on."""
        set_language(lang)  # ValueError, in words, for a language there is no catalog for
        self.options.lang = lang
        self.lang = lang

    def action_toggle_language(self) -> None:
        """F12: English to Japanese and back."""
        new = "en" if self.lang == "ja" else "ja"
        self.apply_language(new)
        self.remember(language=new)  # the next start speaks it too (unless --lang says)
        self.notify(_("Language: {name}").format(name=NAMES[new]), timeout=3)

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
            self.notify(_("Stopping training at the next step and saving a checkpoint…"))
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
        self._load_request += 1
        load = partial(
            load_dataset_posting,
            self.post_message,
            self._load_request,
            corpus,
            fallback=self.dataset is None,  # only the first load opens python-docs instead
            newlines_to_spaces=newlines_to_spaces,
            encoding=self.options.encoding,
            errors=self.options.encoding_errors,
        )
        self.run_worker(load, thread=True, exclusive=True, exit_on_error=False, group="load")

    def on_corpus_load_progressed(self, message: messages.CorpusLoadProgressed) -> None:
        self.load_progress = (message.done, message.total)

    def on_dataset_loaded(self, message: messages.DatasetLoaded) -> None:
        if message.request != self._load_request:  # a load that a newer one replaced
            return
        self.loading = None
        self.load_error = message.error
        if message.dataset is not None:
            self.dataset = message.dataset
            corpus = message.dataset.corpus
            if corpus.fallback_reason is None:  # not a stand-in for what was asked
                self.remember(
                    last_corpus=corpus.reference, last_newlines_to_spaces=corpus.newlines_to_spaces
                )

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

    def _follow_run(self) -> None:
        """The tick: let the current screen draw what the run reported since the last."""
        screen = self._screen_if_any()
        # a closing app is no longer running while its screens lose their widgets
        if self.is_running and isinstance(screen, CharLMScreen) and screen.is_mounted:
            screen.follow_run()

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
