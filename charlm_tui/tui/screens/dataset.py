"""Provides DatasetScreen: pick a corpus and see what a character model will see in it.

The notebook's first cells (N1-N4): the text with newlines as spaces, its sorted vocabulary
with counts, the encode/decode round trip of "Do you know, Watson,", the 80/20 split and a
random 16-character window x with its target y shifted by one.
"""

from __future__ import annotations

from pathlib import Path

import torch
from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, ProgressBar, Select, Static

from charlm_tui.core.corpus import CATALOG, newlines_default
from charlm_tui.core.data import random_window
from charlm_tui.core.i18n import N_, _
from charlm_tui.core.metrics import perplexity
from charlm_tui.core.vocab import describe_char
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.session import Dataset
from charlm_tui.tui.widgets.char_frequency_plot import CharFrequencyPlot
from charlm_tui.tui.widgets.path_suggester import PathSuggester
from charlm_tui.tui.widgets.switch_box import SwitchBox
from charlm_tui.tui.widgets.translated import TrLabel
from charlm_tui.tui.widgets.vocab_grid import VocabGrid

PLAYGROUND_TEXT = "Do you know, Watson,"
NEWLINES = N_("newlines → spaces")
PATH_PLACEHOLDER = N_("…or type the path of a UTF-8 text file and press Enter (o)")
VOCAB_TITLE = N_("Vocabulary: id, character, count (N2)")
PLAYGROUND_MAX = 500  # characters the encode/decode playground takes
EXAMPLE_SEED = 1  # torch.manual_seed(1), as the notebook (N11)
EXAMPLE_BLOCK = 16  # the notebook's window
TOUR = N_("The notebook tour: its story step by step (N1-N11), on the loaded corpus")


def corpus_options(file: str | None = None) -> list[tuple[str, str]]:
    """The picker's rows: the catalog, then the open file (if one is open); no blank row."""
    rows = [(f"{name}: {entry.title}", name) for name, entry in CATALOG.items()]
    if file is not None and file not in CATALOG:
        rows.append((_("file: {name}").format(name=Path(file).name), file))
    return rows


def visible(text: str) -> str:
    """A text with spaces and newlines drawn, for showing windows of characters."""
    return "".join(describe_char(ch) if ch in "\n\t\r" else ch for ch in text)


class DatasetScreen(CharLMScreen):
    """Corpus picker, vocabulary, frequencies, split, encode/decode playground, a batch."""

    MODE = "dataset"
    HELP = N_(
        "Pick a corpus from the catalog or type the path of any UTF-8 text file. The "
        "vocabulary is every distinct character, sorted: its position is the character's "
        "id (stoi), and the model sees nothing else. The first {train:.0%} of the text trains "
        "the model, the last {val:.0%} checks it."
    )
    BINDINGS = [
        Binding("l", "load", N_("Load"), tooltip=N_("Load the corpus again")),
        Binding("n", "toggle_newlines", N_("Newlines"), tooltip=N_("Newlines as spaces, or kept")),
        Binding(
            "o,slash", "focus_path", N_("Open file"), tooltip=N_("Type the path of a text file")
        ),
        Binding("w", "app.switch_mode('tour')", N_("Tour"), tooltip=TOUR),
        Binding(
            "e",
            "focus_playground",
            N_("Encode"),
            show=False,
            tooltip=N_("Try the encoding: text to ids"),
        ),
        Binding(
            "c", "focus_corpus", N_("Corpus"), show=False, tooltip=N_("Choose a catalog corpus")
        ),
    ]

    def help_text(self) -> str:
        # the split's shares are numbers, so that no bare % reads as a format to gettext
        return _(self.HELP).format(train=0.8, val=0.2)

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with Horizontal(id="corpus-bar"):
            source = self.charlm.options.corpus
            yield Select(
                corpus_options(source),
                value=source,
                allow_blank=False,
                compact=True,
                id="corpus-select",
            )
            yield SwitchBox(_(NEWLINES), True, id="newlines")
        yield Input(
            placeholder=_(PATH_PLACEHOLDER),
            suggester=PathSuggester(),
            compact=True,
            id="path-input",
        )
        yield ProgressBar(id="load-progress", show_eta=False)
        yield Static("", id="dataset-message")
        with VerticalScroll(id="dataset-body"):
            with Vertical(id="dataset-left"):
                yield Static("", id="summary")
                yield TrLabel(N_("Encode / decode (N3)"), classes="section-title")
                # the playground shows every id: a 100 KB paste would redraw all of it
                yield Input(
                    PLAYGROUND_TEXT, compact=True, max_length=PLAYGROUND_MAX, id="playground"
                )
                yield Static("", id="playground-result")
                yield TrLabel(N_("An example window (N4)"), classes="section-title")
                yield Static("", id="example-batch")
            with Vertical(id="dataset-right"):
                yield Label(_(VOCAB_TITLE), classes="section-title", id="vocab-title")
                yield VocabGrid(id="vocab-grid")
                yield CharFrequencyPlot(id="char-frequency")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        app = self.charlm
        source = app.options.corpus
        newlines = app.options.newlines_to_spaces
        if newlines is None:
            newlines = newlines_default(source)
        # what the app loads at start: setting the widgets below must not load it again
        self._source = source
        self._requested: tuple[str, bool] | None = (source, newlines)
        if source not in CATALOG:
            self.query_one("#path-input", Input).value = source
        self.query_one("#newlines", Checkbox).value = newlines
        self.watch(self.app, "dataset", self._show_dataset)
        self.watch(self.app, "loading", self._show_loading)
        self.watch(self.app, "load_error", self._show_error)
        self.watch(self.app, "load_progress", self._show_progress)
        self.query_one("#corpus-select").focus()

    # --- loading ----------------------------------------------------------------------

    def _load(self, source: str, *, again: bool = False) -> None:
        self._source = source
        request = (source, self.query_one("#newlines", Checkbox).value)
        if request == self._requested and not again:
            return
        self._requested = request
        self.charlm.load_dataset(*request)

    @on(Select.Changed, "#corpus-select")
    def _corpus_chosen(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self._source:
            return  # the picker showing what is open already
        self._source = event.value
        box = self.query_one("#newlines", Checkbox)
        if box.value != (event.value == "sherlock"):
            box.value = event.value == "sherlock"  # its Changed handler loads
        else:  # the same choice again after a failure is a retry
            self._load(event.value, again=self.charlm.load_error is not None)

    @on(Input.Submitted, "#path-input")
    def _path_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self._load(path, again=True)

    @on(Checkbox.Changed, "#newlines")
    def _newlines_changed(self) -> None:
        self._load(self._source)

    def action_load(self) -> None:
        self._load(self._source, again=True)

    def action_toggle_newlines(self) -> None:
        box = self.query_one("#newlines", Checkbox)
        box.value = not box.value

    def action_focus_path(self) -> None:
        self.query_one("#path-input").focus()

    def action_focus_playground(self) -> None:
        self.query_one("#playground").focus()

    def action_focus_corpus(self) -> None:
        self.query_one("#corpus-select").focus()

    def retranslate(self) -> None:
        super().retranslate()
        self.query_one("#newlines", Checkbox).label = _(NEWLINES)
        self.query_one("#path-input", Input).placeholder = _(PATH_PLACEHOLDER)
        app = self.charlm
        if app.dataset is not None and app.dataset.corpus.name not in CATALOG:
            self._show_file(app.dataset.corpus.source)
        if app.loading is not None:
            self._show_loading(app.loading)
        elif app.load_error is not None:
            self._show_error(app.load_error)
        elif app.dataset is not None:
            self._show_dataset(app.dataset)
        else:
            self.query_one("#vocab-title", Label).update(_(VOCAB_TITLE))
            self._show_playground(self.query_one("#playground", Input).value)

    def _show_loading(self, loading: str | None) -> None:
        bar = self.query_one("#load-progress", ProgressBar)
        bar.display = loading is not None
        if loading is not None:
            bar.update(total=None, progress=0)
            loading_text = _("Loading {corpus}…").format(corpus=escape(loading))
            self.query_one("#dataset-message", Static).update(loading_text)

    def _show_progress(self, progress: tuple[int, int | None] | None) -> None:
        if progress is None:
            return
        done, total = progress
        bar = self.query_one("#load-progress", ProgressBar)
        bar.update(total=total, progress=done)
        if total:
            said = _("Downloading: {done:,.0f} KiB of {total:,.0f} KiB")
        else:
            said = _("Downloading: {done:,.0f} KiB")
        words = said.format(done=done / 1024, total=(total or 0) / 1024)
        self.query_one("#dataset-message", Static).update(words)

    def _show_error(self, error: str | None) -> None:
        message = self.query_one("#dataset-message", Static)
        message.set_class(error is not None, "-error")
        if error is not None:
            message.update(
                Text.assemble(
                    (_("Could not load: "), "bold"),
                    error,
                    "\n",
                    _(
                        "Here: pick python-docs from the list (c), always at hand offline, "
                        "or type the path of a text file (o)."
                    ),
                )
            )
        elif self.charlm.dataset is not None:
            self._show_dataset(self.charlm.dataset)

    def _show_fallback(self, dataset: Dataset) -> None:
        """The app opened another corpus than it was asked for: the picker and the newline
        box show that one, and choosing it again is no new request."""
        corpus = dataset.corpus
        with self.prevent(Select.Changed, Checkbox.Changed):
            self.query_one("#corpus-select", Select).value = corpus.name
            self.query_one("#newlines", Checkbox).value = corpus.newlines_to_spaces
        self._source = corpus.name
        self._requested = (corpus.name, corpus.newlines_to_spaces)

    def _show_file(self, path: str) -> None:
        """A file is open: the picker lists it under the catalog and shows it."""
        picker = self.query_one("#corpus-select", Select)
        with self.prevent(Select.Changed):
            picker.set_options(corpus_options(path))
            picker.value = path

    # --- what the dataset holds -------------------------------------------------------

    def _show_dataset(self, dataset: Dataset | None) -> None:
        if dataset is None:
            return
        corpus, vocab, split = dataset.corpus, dataset.vocab, dataset.split
        n_train, n_val = split.sizes
        if self.charlm.load_error is None:
            loaded = corpus.fallback_reason or _("Loaded {corpus}.").format(corpus=corpus.name)
            self.query_one("#dataset-message", Static).update(escape(loaded))
        if corpus.fallback_reason is not None:
            self._show_fallback(dataset)
        elif corpus.name not in CATALOG:
            self._show_file(corpus.source)
        refs = dataset.references
        title = CATALOG[corpus.name].title if corpus.name in CATALOG else Path(corpus.source).name
        summary = Text()
        summary.append(f"{title}\n", "bold")
        summary.append(_("from {source}").format(source=corpus.source) + "\n", "dim")
        if corpus.newlines_to_spaces:
            sizes = _("{chars:,} characters · vocabulary of {size} · newlines as spaces")
        else:
            sizes = _("{chars:,} characters · vocabulary of {size} · newlines kept")
        split_words = _(
            "train {train:,} / val {val:,} characters: split at {at:,} ({tf:.0%} / {vf:.0%})"
        )
        references = _(
            "perplexity of a uniform guess {size}, of character counts {unigram:.1f}, "
            "of the previous character {bigram:.1f}"
        )
        summary.append(
            sizes.format(chars=len(corpus.text), size=vocab.size)
            + "\n"
            + split_words.format(
                train=n_train,
                val=n_val,
                at=split.split_at,
                tf=dataset.train_fraction,
                vf=1 - dataset.train_fraction,
            )
            + "\n"
            + references.format(
                size=vocab.size,
                unigram=perplexity(refs.unigram),
                bigram=perplexity(refs.bigram),
            )
        )
        self.query_one("#summary", Static).update(summary)
        self.query_one("#vocab-title", Label).update(
            _("Vocabulary: {size} characters, id · character · count (N2)").format(size=vocab.size)
        )
        self.query_one(VocabGrid).show(vocab, dataset.counts.tolist())
        self.query_one(CharFrequencyPlot).show(vocab, dataset.counts.tolist())
        self._show_playground(self.query_one("#playground", Input).value)
        self._show_example(dataset)

    def _show_example(self, dataset: Dataset) -> None:
        text = Text()
        try:
            generator = torch.Generator().manual_seed(EXAMPLE_SEED)
            x, y = random_window(dataset.split.train, EXAMPLE_BLOCK, generator)
        except (RuntimeError, ValueError):
            short = _("the train part is shorter than {n} characters")
            text.append(short.format(n=EXAMPLE_BLOCK + 2))
        else:
            vocab = dataset.vocab
            intro = _("seed {seed}, {n} characters from the train part:")
            text.append(intro.format(seed=EXAMPLE_SEED, n=EXAMPLE_BLOCK) + "\n")
            text.append("x ", "bold")
            text.append(repr(visible(vocab.decode(x.tolist()))))
            text.append(f"  {x.tolist()}\n", "dim")
            text.append("y ", "bold")
            text.append(repr(visible(vocab.decode(y.tolist()))))
            text.append(f"  {y.tolist()}\n", "dim")
            text.append(
                _("y is x shifted by one: at each position the model learns the next character.")
            )
        self.query_one("#example-batch", Static).update(text)

    @on(Input.Changed, "#playground")
    def _playground_changed(self, event: Input.Changed) -> None:
        self._show_playground(event.value)

    def _show_playground(self, value: str) -> None:
        dataset = self.charlm.dataset
        result = self.query_one("#playground-result", Static)
        if dataset is None:
            result.update(_("load a corpus to encode text"))
            return
        vocab = dataset.vocab
        ids = vocab.encode(value, "drop")
        decoded = vocab.decode(ids)
        text = Text()
        text.append("encode → ", "bold")
        text.append(f"{ids}\n")
        text.append("decode → ", "bold")
        text.append(repr(decoded))
        unknown = sorted({ch for _, ch in vocab.unknown_chars(value)})
        if unknown:
            listed = ", ".join(repr(ch) for ch in unknown[:8])
            dropped = _("{chars} not in the vocabulary; dropped").format(chars=listed)
            text.append("\n" + dropped, "bold")
        elif value:
            text.append("  " + _("(the same text back: the round trip is exact)"), "dim")
        result.update(text)
