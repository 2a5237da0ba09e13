"""Provides GenerateScreen, the chat-style console: type a seed, watch the model's guesses.

Every keystroke feeds the new characters to a core.sample.Generator and redraws the bars
of P(next character). Enter runs the next-character loop from the seed in a cancellable
thread worker that streams characters into the transcript in ~30 ms batches; Esc stops
it. A knob turned mid-stream sends the worker a new SamplingOptions, which it hands to its
Generator between two characters: the Generator is only ever touched by one thread.
"""

from __future__ import annotations

import queue
import threading
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

import torch
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from charlm_tui.core.i18n import N_, _, ngettext
from charlm_tui.core.models import build_model
from charlm_tui.core.sample import Generator, SamplingOptions, entropy_bits
from charlm_tui.core.settings import Settings
from charlm_tui.tui.model_source import CheckpointUnusable, ModelSource, source_from_checkpoint
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.screens.surprise import SurpriseScreen
from charlm_tui.tui.widgets.next_char_bars import NextCharBars
from charlm_tui.tui.widgets.sampling_bar import SamplingBar
from charlm_tui.tui.widgets.seed_input import MAX_SEED, SeedInput


def as_nfc(text: str) -> str:
    """A pasted "é" may arrive as e + U+0301; the corpus (and so the vocabulary) is NFC."""
    return unicodedata.normalize("NFC", text)


FLUSH_INTERVAL_S = 0.03  # the transcript takes streamed characters at most ~30 times a second
MAX_TURNS = 100  # older turns leave the transcript
UNTRAINED_SEED = 1  # torch.manual_seed(1): the notebook's untrained model (N7)

TEMPERATURE_STEP = 0.1
TOP_KS = (1, 2, 3, 5, 10, 20, 40, 0)  # in order of how many survive: 0 (off) keeps all
TOP_P_STEP = 0.05
LENGTHS = (20, 50, 100, 200, 500, 1000, 2000)

# what the keys do, in words: the help screen and the palette read them off the bindings
ESCAPE = N_("Stop generating; again: leave the seed line (then 1/2/3 work)")
T_DOWN, T_UP = N_("Temperature down (0 = greedy)"), N_("Temperature up (wilder)")
K_DOWN, K_UP = N_("top-k down (fewer characters)"), N_("top-k up (off = all characters)")
P_DOWN, P_UP = N_("top-p down"), N_("top-p up (1 = off)")
SHORTER, LONGER = N_("Generate shorter text"), N_("Generate longer text")
RESEED = N_("Next random seed")
OPEN = N_("Open a checkpoint file")
SOURCE = N_("Model: as trained / untrained / checkpoint")
SURPRISE = N_("Surprise heat-map: a text coloured by this model's surprise, per character")
SEED_PLACEHOLDER = N_("type a seed and press Enter (empty: a random first character)")
NO_MODEL = N_("load a corpus (1) or open a checkpoint (ctrl+o) to talk to a model")
TYPE_SOMETHING = N_("type a few characters to see what the model expects next")


def _next_in(values: tuple[int, ...], current: int, delta: int) -> int:
    """The neighbour of `current` in `values` (clamped at the ends)."""
    if current in values:
        index = values.index(current) + delta
    else:  # a value set elsewhere: step to the nearest listed one in that direction
        index = sum(1 for v in values if 0 < v < current) - (1 if delta < 0 else 0)
    return values[max(0, min(len(values) - 1, index))]


def remembered_options(settings: Settings) -> SamplingOptions:
    """The knobs as they were left last time (the defaults on a first run)."""
    try:
        return SamplingOptions(
            temperature=settings.temperature,
            top_k=settings.top_k,
            top_p=settings.top_p,
            length=settings.length,
            seed=settings.seed,
        )
    except ValueError:  # core.settings checks the same ranges: kept as a safety net
        return SamplingOptions(seed=1)


def _visible(text: str) -> str:
    return text.replace("\n", "⏎\n")


class GenerateScreen(CharLMScreen):
    """Transcript and seed line on the left, the next-character bars on the right."""

    MODE = "console"
    HELP = N_(
        "Type a seed: the bars show the model's probabilities for the next character and "
        "the entropy, how unsure it is in bits (2^bits is the number of equally likely "
        "choices). Enter continues the text, Esc stops. Temperature 0 always takes the most "
        "likely character (greedy); higher is wilder. top-k keeps the k likeliest, top-p "
        "the likeliest that add up to p. Characters the model never saw are marked and "
        "dropped."
    )
    BINDINGS = [
        Binding("escape", "escape", N_("Stop/leave input"), tooltip=ESCAPE),
        Binding(
            "f2", "knob('temperature', -1)", N_("Temp-"), show=False, priority=True, tooltip=T_DOWN
        ),
        Binding(
            "f3", "knob('temperature', 1)", N_("Temp+"), show=False, priority=True, tooltip=T_UP
        ),
        Binding("f4", "knob('top_k', -1)", N_("top-k-"), show=False, priority=True, tooltip=K_DOWN),
        Binding("f5", "knob('top_k', 1)", N_("top-k+"), show=False, priority=True, tooltip=K_UP),
        Binding("f6", "knob('top_p', -1)", N_("top-p-"), show=False, priority=True, tooltip=P_DOWN),
        Binding("f7", "knob('top_p', 1)", N_("top-p+"), show=False, priority=True, tooltip=P_UP),
        Binding(
            "f8", "knob('length', -1)", N_("Shorter"), show=False, priority=True, tooltip=SHORTER
        ),
        Binding("f9", "knob('length', 1)", N_("Longer"), show=False, priority=True, tooltip=LONGER),
        Binding(
            "f10", "knob('seed', 1)", N_("Next seed"), show=False, priority=True, tooltip=RESEED
        ),
        # the same knobs on plain keys, for when the seed line does not have focus
        Binding("left_square_bracket", "knob('temperature', -1)", show=False),
        Binding("right_square_bracket", "knob('temperature', 1)", show=False),
        Binding("left_curly_bracket", "knob('top_k', -1)", show=False),
        Binding("right_curly_bracket", "knob('top_k', 1)", show=False),
        Binding("minus", "knob('top_p', -1)", show=False),
        Binding("equals_sign", "knob('top_p', 1)", show=False),
        Binding("comma", "knob('length', -1)", show=False),
        Binding("full_stop", "knob('length', 1)", show=False),
        Binding("r", "knob('seed', 1)", show=False),
        Binding("ctrl+o", "open_checkpoint", N_("Open ckpt"), priority=True, tooltip=OPEN),
        Binding("o", "open_checkpoint", show=False),
        Binding("ctrl+n", "next_source", N_("Model"), priority=True, tooltip=SOURCE),
        Binding("m", "next_source", show=False),
        Binding("ctrl+l", "clear", N_("Clear"), priority=True, tooltip=N_("Clear the transcript")),
        Binding("l", "clear", show=False),
        Binding(
            "i,enter", "focus_seed", N_("Type"), show=False, tooltip=N_("Type in the seed line")
        ),
        Binding("ctrl+s", "surprise", N_("Surprise"), priority=True, tooltip=SURPRISE),
        Binding("h", "surprise", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with Container(id="console-main"):
            with Vertical(id="console-left"):
                yield VerticalScroll(id="transcript")
                yield Static("", id="seed-warning")
                yield SeedInput(id="seed", placeholder=_(SEED_PLACEHOLDER))
            yield NextCharBars(id="next-char-bars")
        yield SamplingBar(id="sampling-bar")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.options = remembered_options(self.charlm.settings)
        # "latest" (the training snapshot, else untrained), "untrained" or "checkpoint"
        self.source_kind = "latest"
        self.checkpoint_source: ModelSource | None = None
        self._untrained: tuple[tuple[str, tuple[str, ...]], ModelSource] | None = None
        self._source: ModelSource | None = None
        self._bars: Generator | None = None
        self._fed = ""  # what the bars' generator has read
        # new options for the stream under way, taken by its worker between characters
        self._option_changes: queue.SimpleQueue[SamplingOptions] = queue.SimpleQueue()
        self._stop_stream = threading.Event()
        self._turns: list[Static] = []
        self.watch(self.app, "dataset", self._model_changed, init=False)
        self.watch(self.app, "snapshot_version", self._snapshot_changed, init=False)
        self._model_changed()
        self.query_one("#seed").focus()
        if self.charlm.options.checkpoint is not None:
            self.load_checkpoint(self.charlm.options.checkpoint)

    def on_screen_resume(self) -> None:
        self._model_changed()

    def retranslate(self) -> None:
        """The words in the new language; the transcript keeps what it said."""
        super().retranslate()
        self.query_one(SeedInput).placeholder = _(SEED_PLACEHOLDER)
        self._untrained = None  # its label names it in the old language
        self._source = None  # so that the label and the bars are drawn again
        self._model_changed()
        self.query_one(NextCharBars).refresh()

    # --- which model --------------------------------------------------------------------

    def _untrained_source(self) -> ModelSource | None:
        dataset = self.charlm.dataset
        if dataset is None:
            return None
        name = self.charlm.train_config.model
        key = (name, dataset.vocab.chars)
        if self._untrained is None or self._untrained[0] != key:
            # a forked RNG: seeding here must not shift the training thread's random draws
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(UNTRAINED_SEED)
                model = build_model(name, dataset.vocab.size).eval()
            label = _("untrained {model} (seed {seed})").format(model=name, seed=UNTRAINED_SEED)
            block = self.charlm.train_config.block_size
            self._untrained = (key, ModelSource(model, dataset.vocab, label, block))
        return self._untrained[1]

    def _resolve_source(self) -> ModelSource | None:
        app = self.charlm
        if self.source_kind == "checkpoint" and self.checkpoint_source is not None:
            return self.checkpoint_source
        if self.source_kind == "latest" and app.snapshot is not None and app.dataset is not None:
            step = app.history.evals[-1].step if app.history.evals else app.history.step
            trained = _("{model} as trained, step {step:,}")
            label = trained.format(model=app.train_config.model, step=step)
            return ModelSource(app.snapshot, app.dataset.vocab, label, app.train_config.block_size)
        return self._untrained_source()

    def _snapshot_changed(self) -> None:
        if self.source_kind == "latest" and not self.generating:
            self._model_changed()

    def _model_changed(self) -> None:
        source = self._resolve_source()
        changed = source is None or self._source is None or source.model is not self._source.model
        self._source = source
        seed = self.query_one(SeedInput)
        seed.set_vocabulary(source.vocab.stoi if source else None)
        self._update_bar()
        if changed:
            self._bars = None
            self._fed = ""
            self._update_distribution(seed.value)

    def action_next_source(self) -> None:
        kinds = ["latest", "untrained"] + (["checkpoint"] if self.checkpoint_source else [])
        index = kinds.index(self.source_kind) if self.source_kind in kinds else -1
        self.source_kind = kinds[(index + 1) % len(kinds)]
        self._model_changed()
        if self._source is not None:
            self.notify(_("Talking to: {model}").format(model=self._source.label), timeout=3)

    def action_open_checkpoint(self) -> None:
        last = self.charlm.history.last_checkpoint
        # this session's latest save, else the checkpoint of the last session
        default = str(last.path) if last is not None else self.charlm.settings.last_checkpoint
        default = default or ""
        self.app.push_screen(OpenCheckpointScreen(default), self._checkpoint_chosen)

    def _checkpoint_chosen(self, path: str | None) -> None:
        if path:
            self.load_checkpoint(Path(path))

    @work(thread=True, exclusive=True, exit_on_error=False, group="checkpoint")
    def load_checkpoint(self, path: Path) -> None:
        try:
            source = source_from_checkpoint(path)
        except CheckpointUnusable as exc:
            self.app.call_from_thread(self._warn, str(exc))
            return
        self.app.call_from_thread(self._use_checkpoint, source, path)

    def _use_checkpoint(self, source: ModelSource, path: Path | None = None) -> None:
        if path is not None:
            self.charlm.remember(last_checkpoint=str(path.resolve()))
        self.checkpoint_source = source
        self.source_kind = "checkpoint"
        self._model_changed()
        self.notify(_("Talking to: {model}").format(model=source.label), timeout=3)

    def _warn(self, message: str) -> None:
        warning = self.query_one("#seed-warning", Static)
        warning.update(Text(message))
        warning.display = bool(message)

    # --- the bars, at every keystroke ---------------------------------------------------

    @on(SeedInput.Changed, "#seed")
    def _seed_changed(self, event: SeedInput.Changed) -> None:
        self._update_distribution(as_nfc(event.value))

    @on(SeedInput.Truncated)
    def _seed_truncated(self, event: SeedInput.Truncated) -> None:
        kept = _(
            "Kept the last {kept:,} of {pasted:,} characters: "
            "the model reads only the end of the text anyway."
        )
        self.notify(kept.format(kept=MAX_SEED, pasted=event.pasted), timeout=5)

    def _update_distribution(self, text: str) -> None:
        bars = self.query_one(NextCharBars)
        source = self._source
        if source is None:
            bars.clear(NO_MODEL)
            return
        unknown = sorted({ch for _, ch in source.vocab.unknown_chars(text)})
        if unknown:
            listed = ", ".join(repr(ch) for ch in unknown[:6])
            if len(unknown) > 6:
                said = _("{chars} and {more} more are not in the vocabulary; dropped")
            else:
                said = ngettext(
                    "{chars} is not in the vocabulary; dropped",
                    "{chars} are not in the vocabulary; dropped",
                    len(unknown),
                )
            self._warn(said.format(chars=listed, more=len(unknown) - 6))
        else:
            self._warn("")
        if not text:
            bars.clear(TYPE_SOMETHING)
            self._bars, self._fed = None, ""
            return
        if self._bars is not None and text.startswith(self._fed):
            probs = self._bars.feed(text[len(self._fed) :]) if text != self._fed else None
        else:
            # an edit, not an append: read again (the Generator runs only the tail that
            # can still matter, so even a long seed costs one context window)
            self._bars = Generator(
                source.model, source.vocab, "", options=self.options, unknown="drop"
            )
            probs = self._bars.feed(text)
        self._fed = text
        if probs is not None:
            bars.show(probs, source.vocab, entropy_bits(probs))

    # --- the knobs ----------------------------------------------------------------------

    def action_knob(self, name: str, delta: int) -> None:
        o = self.options
        if name == "temperature":
            value = round(min(5.0, max(0.0, o.temperature + delta * TEMPERATURE_STEP)), 2)
            self.options = replace(o, temperature=value)
        elif name == "top_k":
            self.options = replace(o, top_k=_next_in(TOP_KS, o.top_k, delta))
        elif name == "top_p":
            value = round(min(1.0, max(TOP_P_STEP, o.top_p + delta * TOP_P_STEP)), 2)
            self.options = replace(o, top_p=value)
        elif name == "length":
            self.options = replace(o, length=_next_in(LENGTHS, o.length, delta))
        elif name == "seed":
            self.options = replace(o, seed=(o.seed or 0) + delta)
        self._option_changes.put(self.options)  # the stream under way, if any, takes it
        self._update_bar()
        o = self.options
        self.charlm.remember(
            temperature=o.temperature, top_k=o.top_k, top_p=o.top_p, length=o.length, seed=o.seed
        )

    def _update_bar(self) -> None:
        o = self.options
        values = {
            "temperature": o.temperature,
            "top_k": o.top_k,
            "top_p": o.top_p,
            "length": o.length,
            "seed": o.seed,
        }
        label = self._source.label if self._source else _("none yet")
        self.query_one(SamplingBar).show(values, label)

    # --- generation ---------------------------------------------------------------------

    @on(SeedInput.Submitted, "#seed")
    def _seed_submitted(self, event: SeedInput.Submitted) -> None:
        self.start_generation(as_nfc(event.value))

    def start_generation(self, seed_text: str) -> None:
        source = self._source
        if source is None:
            self.notify(_("No model yet: load a corpus (1) or open a checkpoint (ctrl+o)."))
            return
        self.action_stop()
        self._stop_stream = threading.Event()
        self._option_changes = queue.SimpleQueue()
        turn = Static(Text.assemble(("› ", "bold"), (seed_text, "bold")), classes="turn")
        transcript = self.query_one("#transcript", VerticalScroll)
        transcript.mount(turn)
        self._turns.append(turn)
        while len(self._turns) > MAX_TURNS:
            self._turns.pop(0).remove()
        transcript.scroll_end(animate=False)
        self._generate(
            source, seed_text, turn, self.options, self._option_changes, self._stop_stream
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="generate")
    def _generate(
        self,
        source: ModelSource,
        seed_text: str,
        turn: Static,
        options: SamplingOptions,
        changes: queue.SimpleQueue[SamplingOptions],
        stop: threading.Event,
    ) -> None:
        """Stream characters to the transcript; this thread only calls call_from_thread,
        and it alone touches its Generator."""
        worker = get_current_worker()
        generator = Generator(source.model, source.vocab, seed_text, options, unknown="drop")
        produced: list[str] = []
        pending: list[str] = []
        last_flush = time.monotonic()
        reason = "done"
        try:
            for ch in generator:
                if stop.is_set() or worker.is_cancelled:
                    reason = "stopped"
                    break
                while not changes.empty():  # a knob turned: the next character uses it
                    generator.options = changes.get()
                pending.append(ch)
                now = time.monotonic()
                if now - last_flush >= FLUSH_INTERVAL_S:
                    produced.extend(pending)
                    self.app.call_from_thread(
                        self._show_stream, turn, seed_text, "".join(produced), False
                    )
                    pending.clear()
                    last_flush = now
        except Exception as exc:  # a model that fails mid-stream ends the turn in words
            reason = f"failed: {exc}"
        produced.extend(pending)
        if not worker.is_cancelled:
            self.app.call_from_thread(
                self._show_stream, turn, seed_text, "".join(produced), True, reason
            )

    def _show_stream(
        self, turn: Static, seed_text: str, produced: str, finished: bool, reason: str = ""
    ) -> None:
        text = Text()
        text.append("› ", "bold")
        text.append(seed_text, "bold")
        text.append(_visible(produced))
        if finished:
            if reason == "stopped":
                note = _("{n} characters; stopped").format(n=len(produced))
            else:
                note = _("{n} characters").format(n=len(produced))
            if reason.startswith("failed: "):
                note = _("failed: {reason}").format(reason=reason.removeprefix("failed: "))
            note = f"  [{note}]"
            text.append(note, "dim")
        turn.update(text)
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    def action_stop(self) -> None:
        """Stop the stream at the next character; its turn ends with "stopped"."""
        self._stop_stream.set()

    @property
    def generating(self) -> bool:
        return any(w.group == "generate" and w.is_running for w in self.workers)

    def action_escape(self) -> None:
        """Esc stops a stream; with nothing streaming it leaves the seed line (for 1/2/3)."""
        if self.generating:
            self.action_stop()
        elif self.focused is self.query_one(SeedInput):
            self.query_one("#transcript").focus()
        else:
            self.query_one(SeedInput).focus()

    def action_surprise(self) -> None:
        """Open the surprise heat-map with this model and the seed line's text."""
        source = self._source
        if source is None:
            self.notify(_("No model yet: load a corpus (1) or open a checkpoint (ctrl+o)."))
            return
        self.app.push_screen(SurpriseScreen(source, as_nfc(self.query_one(SeedInput).value)))

    def action_focus_seed(self) -> None:
        self.query_one(SeedInput).focus()

    def action_clear(self) -> None:
        self.action_stop()
        for turn in self._turns:
            turn.remove()
        self._turns.clear()
