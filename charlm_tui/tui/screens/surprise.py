"""Provides SurpriseScreen: paste or type a text, see each character coloured by surprise.

Opened from the console (ctrl+s) with the console's model. Every edit recomputes, after a
short pause in the typing, in a thread worker: `core.surprise.surprise` gives each
character's −log2 p and the average bits/char, the very numbers `charlm eval --text`
prints for the same text. ctrl+o opens a second checkpoint and shows both maps side by
side, with both averages and their difference.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Static, TextArea
from textual.worker import get_current_worker

from charlm_tui.core.i18n import N_, _, ngettext
from charlm_tui.core.surprise import Surprise, surprise
from charlm_tui.tui.model_source import CheckpointUnusable, ModelSource, source_from_checkpoint
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.widgets.mode_bar import ModeBar
from charlm_tui.tui.widgets.surprise_text import HeatCells, SurpriseMap, legend

DEBOUNCE_S = 0.25  # recompute once the typing pauses this long, not at every key
MAX_CHARS = 20_000  # a longer paste is scored on its beginning (the map would crawl)

BACK = N_("Back to the console")
COMPARE = N_("Compare with a second checkpoint, side by side")
SINGLE = N_("Close the comparison: the console's model alone")
CLEAR = N_("Clear the text")


def clean_text(text: str) -> str:
    """The text as `charlm eval` reads a file: one kind of line break, NFC."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def average_line(result: Surprise) -> str:
    """`2.345 bits/char`, eval's number, or why there is none yet."""
    average = result.bits_per_char
    if average is None:
        return _("no average yet: 2 known characters needed")
    return _("{bits:.3f} bits/char").format(bits=average)


def count_line(result: Surprise) -> str:
    """`120 characters · 2 unknown (dropped)`."""
    line = ngettext("{n:,} character", "{n:,} characters", result.n_chars).format(n=result.n_chars)
    if result.n_unknown:
        line += " · " + _("{n:,} unknown (dropped)").format(n=result.n_unknown)
    return line


class SurpriseScreen(CharLMScreen):
    """The text on top, then one heat-map per model (two side by side when comparing)."""

    MODE = "surprise heat-map"
    HELP = N_(
        "Type or paste a text: each character's background shows how surprised the model "
        "was to see it, −log2 p in bits (green: expected, red: 8 bits or more, a 1-in-256 "
        "guess). The average bits/char is what `charlm eval --text FILE` prints for the "
        "same text: characters outside the vocabulary are dropped (marked), the first "
        "character has nothing to predict it, and the context restarts every training "
        "window, as in eval. ctrl+o compares a second checkpoint on the same text."
    )
    BINDINGS = [
        Binding("escape", "back", N_("Console"), priority=True, tooltip=BACK),
        Binding("ctrl+o", "compare", N_("Compare"), priority=True, tooltip=COMPARE),
        Binding("ctrl+r", "single", N_("One model"), priority=True, tooltip=SINGLE),
        Binding("ctrl+l", "clear", N_("Clear"), priority=True, tooltip=CLEAR),
    ]
    DEFAULT_CSS = """
    #surprise-input {
        height: 6;
        border: round $accent 50%;
        padding: 0 1;
    }
    #surprise-input:focus {
        border: round $accent;
    }
    #surprise-legend {
        height: 1;
        padding: 0 1;
    }
    #surprise-columns {
        height: 1fr;
    }
    .surprise-column {
        width: 1fr;
        height: 1fr;
    }
    #surprise-b {
        display: none;
        border-left: vkey $panel-lighten-2;
    }
    SurpriseScreen.-comparing #surprise-b {
        display: block;
    }
    SurpriseScreen.-narrow #surprise-columns {
        layout: vertical;
    }
    SurpriseScreen.-narrow #surprise-b {
        border-left: none;
    }
    .surprise-head {
        height: 3;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        background: $panel;
    }
    #surprise-diff {
        height: auto;
        padding: 0 1;
        text-style: bold;
    }
    """

    def __init__(self, source: ModelSource | None, text: str = "") -> None:
        super().__init__()
        self.sources: list[ModelSource | None] = [source, None]
        self.initial_text = text
        self.results: list[Surprise | None] = [None, None]
        self._timer: Timer | None = None
        self._version = 0  # numbers the computations: only the latest one is shown
        self._cut = False  # whether the text shown is the first MAX_CHARS of a longer one

    def compose_bar(self) -> ComposeResult:
        yield ModeBar("console", id="mode-bar")  # a view of the console's model

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        area = TextArea(
            self.initial_text,
            id="surprise-input",
            placeholder=_("type or paste a text: each character is coloured by its surprise"),
        )
        area.border_title = _("Text")
        yield area
        yield Static(legend(), id="surprise-legend")
        with Horizontal(id="surprise-columns"):
            for key in ("a", "b"):
                with Vertical(id=f"surprise-{key}", classes="surprise-column"):
                    yield Static("", id=f"surprise-{key}-head", classes="surprise-head")
                    yield SurpriseMap(id=f"surprise-{key}-map")
        yield Static("", id="surprise-diff")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        area = self.query_one("#surprise-input", TextArea)
        area.move_cursor(area.document.end)
        area.focus()
        self._draw_heads()
        self.score_now()

    # --- scoring, off the UI thread ------------------------------------------------------

    @on(TextArea.Changed, "#surprise-input")
    def _text_changed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self.score_now)

    @property
    def text(self) -> str:
        return clean_text(self.query_one("#surprise-input", TextArea).text)

    def score_now(self) -> None:
        """Score the text with every model now (in a worker), without waiting for a pause."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._version += 1
        self._score(self._version, self.text, list(self.sources))

    @work(thread=True, exclusive=True, exit_on_error=False, group="surprise")
    def _score(self, version: int, text: str, sources: list[ModelSource | None]) -> None:
        worker = get_current_worker()
        shown = text[:MAX_CHARS]
        results: list[tuple[Surprise, HeatCells] | str | None] = []
        for source in sources:
            if source is None or worker.is_cancelled:
                results.append(None)
                continue
            try:
                result = surprise(source.model, source.vocab, shown, source.block_size)
            except Exception as exc:  # a model that fails says so in its column
                results.append(_("cannot score this text: {error}").format(error=exc))
                continue
            results.append((result, HeatCells.of(result)))  # the styles, made here too
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, version, results, len(text))

    def _show(
        self, version: int, results: list[tuple[Surprise, HeatCells] | str | None], length: int
    ) -> None:
        if version != self._version:  # an older text's scores, overtaken
            return
        for index, key in enumerate(("a", "b")):
            scored = results[index]
            heat = self.query_one(f"#surprise-{key}-map", SurpriseMap)
            self.results[index] = scored[0] if isinstance(scored, tuple) else None
            if isinstance(scored, tuple):
                if scored[0].n_chars:
                    heat.show(*scored)
                else:
                    heat.note(_("type or paste a text above"))
            elif isinstance(scored, str):
                heat.note(scored)
            elif index == 0:
                heat.note(_("No model yet: load a corpus (1) or open a checkpoint (ctrl+o)."))
        cut = length > MAX_CHARS
        if cut and not self._cut:  # said once, when a text first grows past the limit
            self.notify(
                _(
                    "Scored the first {n:,} of {total:,} characters; "
                    "`charlm eval --text FILE` scores a whole file."
                ).format(n=MAX_CHARS, total=length),
                timeout=5,
            )
        self._cut = cut
        self._draw_heads()

    def _draw_heads(self) -> None:
        for index, key in enumerate(("a", "b")):
            source, result = self.sources[index], self.results[index]
            head = Text()
            if source is not None:
                head.append(f" {'AB'[index]} ", "bold reverse")
                head.append(" " + source.label + "\n", "bold")
                if result is not None:
                    head.append(average_line(result), "bold")
                    head.append("\n" + count_line(result))
                else:
                    head.append("…\n")
            self.query_one(f"#surprise-{key}-head", Static).update(head)
        self.query_one("#surprise-diff", Static).update(self._difference())

    def _difference(self) -> Text:
        a, b = self.results
        if self.sources[1] is None:
            return Text(_("ctrl+o: compare with a second checkpoint on the same text"), "dim")
        if a is None or b is None or a.bits_per_char is None or b.bits_per_char is None:
            return Text("")
        delta = b.bits_per_char - a.bits_per_char
        if abs(delta) < 0.0005:
            verdict = _("the two models are equally surprised")
        elif delta < 0:
            verdict = _("B predicts this text better")
        else:
            verdict = _("A predicts this text better")
        line = _("B − A: {delta:+.3f} bits/char ({verdict})").format(delta=delta, verdict=verdict)
        if a.known != b.known:
            line += "; " + _("their vocabularies differ, so they score different characters")
        return Text(line)

    # --- the second model -----------------------------------------------------------------

    def action_compare(self) -> None:
        last = self.charlm.history.last_checkpoint
        default = str(last.path) if last is not None else ""
        self.app.push_screen(OpenCheckpointScreen(default), self._checkpoint_chosen)

    def _checkpoint_chosen(self, path: str | None) -> None:
        if path:
            self.load_checkpoint(Path(path))

    @work(thread=True, exclusive=True, exit_on_error=False, group="checkpoint")
    def load_checkpoint(self, path: Path) -> None:
        """Open `path` as model B; a file that is not a checkpoint is said so, in words."""
        try:
            source = source_from_checkpoint(path)
        except CheckpointUnusable as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self.compare_with, source)

    def compare_with(self, source: ModelSource) -> None:
        """Show `source` as model B beside the console's model, on the same text."""
        self.sources[1] = source
        self.results[1] = None
        self.add_class("-comparing")
        self.refresh_bindings()
        self.score_now()

    def action_single(self) -> None:
        self.sources[1] = None
        self.results[1] = None
        self.query_one("#surprise-b-map", SurpriseMap).note("")
        self.remove_class("-comparing")
        self.refresh_bindings()
        self._draw_heads()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "single" and self.sources[1] is None:
            return None  # shown, dimmed: there is no comparison to close
        return True

    # --- the rest ---------------------------------------------------------------------------

    def action_clear(self) -> None:
        self.query_one("#surprise-input", TextArea).clear()
        self.score_now()

    def action_back(self) -> None:
        self.dismiss()
