"""Provides CharLMApp, the app shell: its modes, keys, signals and quitting, and its state.

The App holds what every screen draws from (the dataset, the run history, the latest copy
of the weights), so screens can be left and rebuilt while a TrainingRun trains on its own
thread and posts what happens as messages. Stopping is a `RunControl` request that the
trainer checks at every step boundary, so quitting never waits on a busy loop.
"""

from __future__ import annotations

import asyncio
import signal
from functools import partial

import torch
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.events import Event, Key
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input, TextArea

from charlm_tui.core.corpus import newlines_default
from charlm_tui.core.i18n import N_, NAMES, _, language_from_environment, set_language
from charlm_tui.core.models import CharModel
from charlm_tui.core.settings import Settings
from charlm_tui.core.train import TrainConfig, TrainResult
from charlm_tui.tui import messages
from charlm_tui.tui.commands import CharLMCommands
from charlm_tui.tui.key_queue import KeyQueue
from charlm_tui.tui.loading import load_dataset_posting
from charlm_tui.tui.options import TuiOptions, default_threads
from charlm_tui.tui.presenter import Presenter
from charlm_tui.tui.remembered import Remembered
from charlm_tui.tui.run_desk import RunDesk
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


class CharLMApp(RunDesk):
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

    loading: var[str | None] = var(None, init=False)
    """The corpus being loaded, or None."""
    load_error: var[str | None] = var(None, init=False)
    """Why the last load failed, in words, or None."""
    load_progress: var[tuple[int, int | None] | None] = var(None, init=False)
    """(bytes done, total or None) of a corpus download."""
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
        if self.options.corpus_from_settings:  # no --corpus: the last session's, if there
            self.options = self.remembered.corpus_options(self.options)

    @property
    def result(self) -> TrainResult | None:
        """How the latest run ended (run_tui reports it); None before it has."""
        return self.training_run.result if self.training_run is not None else None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """What the app remembers between runs (core.settings)."""
        return self.remembered.settings

    def action_toggle_present(self) -> None:
        self.presenter.toggle()

    def on_mount(self) -> None:
        self.remembered.attach(self)
        self.remembered.apply_theme(self, self.presenter)
        if self.options.present:
            self.presenter.set(True)
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

    def _follow_run(self) -> None:
        """The tick: let the current screen draw what the run reported since the last."""
        screen = self._screen_if_any()
        # a closing app is no longer running while its screens lose their widgets
        if self.is_running and isinstance(screen, CharLMScreen) and screen.is_mounted:
            screen.follow_run()

    # --- the language -----------------------------------------------------------------

    def apply_language(self, lang: str) -> None:
        """Switch the interface to `lang` (one of core.i18n.LANGUAGES): every language change
        goes through here. The screens, the footer, the mode bar and an open help page
        redraw their words at once; a run and the console's transcript carry on."""
        set_language(lang)  # ValueError, in words, for a language there is no catalog for
        self.options.lang = lang
        self.lang = lang

    def choose_language(self, lang: str) -> None:
        """The user's choice (F12, j, the palette): applied, said, and remembered, so the
        next start speaks it too (unless --lang says otherwise)."""
        self.apply_language(lang)
        self.remember(language=lang)
        self.notify(_("Language: {name}").format(name=NAMES[lang]), timeout=3)

    def action_toggle_language(self) -> None:
        """F12: English to Japanese and back."""
        self.choose_language("en" if self.lang == "ja" else "ja")

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
