"""Provides HelpScreen (F1): the keys of the screen it was opened from, and the ideas.

The keys are read from the bindings (tui/keys.py); the ideas are the notebook's, in a few
plain sentences each.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from charlm_tui.core.i18n import N_, _
from charlm_tui.tui.keys import key_rows
from charlm_tui.tui.widgets.steady_footer import SteadyFooter

PALETTE = N_("Command palette: every action by name")
# the screens' names as the help title shows them
SCREEN_NAMES = {"dataset": N_("dataset"), "training": N_("training"), "console": N_("console")}

IDEAS = (
    (
        N_("vocabulary"),
        N_(
            "Every distinct character of the text, sorted. A character's position in it is "
            "its id (stoi); itos turns ids back into text. Sherlock, newlines as spaces, has 83."
        ),
    ),
    (
        N_("one-hot"),
        N_(
            "An id as a vector of V zeros with a single 1 at the id. The notebook's model "
            "multiplies it by a weight matrix, which just picks one row: a learned vector per "
            "character."
        ),
    ),
    (
        N_("loss"),
        N_(
            "Cross-entropy: -ln of the probability the model gave the character that really "
            "came next, averaged. 0 would be certainty; a uniform guess over V characters "
            "scores ln V."
        ),
    ),
    (
        N_("e^-loss"),
        N_(
            "q = e^-loss is the model's typical chance of naming the right character (a "
            "geometric mean)."
        ),
    ),
    (
        N_("perplexity"),
        N_(
            "1/q = e^loss: how many characters the model is choosing between. A uniform guess "
            "gives V; the count-based bigram is the best a model that sees one character can "
            "do."
        ),
    ),
    (
        N_("bits per char"),
        N_(
            "loss / ln 2: the same surprise in bits. The entropy of the console's bars is the "
            "model's own expected surprise for the next character."
        ),
    ),
)


class HelpScreen(Screen[None]):
    """Keys first (this screen's, then the app's), then what the numbers mean."""

    BINDINGS = [
        Binding("escape,q,f1,question_mark", "app.pop_screen", N_("Close"), priority=True),
    ]

    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        padding: 0 1;
    }
    HelpScreen .help-title {
        text-style: bold;
        margin-top: 1;
    }
    """

    def __init__(self, for_screen: Screen) -> None:
        super().__init__()
        self.for_screen = for_screen

    def on_mount(self) -> None:
        # a language switch (F12) redraws the help in the new language at once
        self.watch(self.app, "lang", self._language_changed, init=False)

    def _language_changed(self) -> None:
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        app = self.app
        everywhere: list[BindingType] = list(type(app).BINDINGS)
        if app.ENABLE_COMMAND_PALETTE:
            everywhere.append(Binding(app.COMMAND_PALETTE_BINDING, "command_palette", PALETTE))
        on_screen = getattr(type(self.for_screen), "BINDINGS", [])
        with VerticalScroll():
            mode = getattr(self.for_screen, "MODE", "")
            name = _(SCREEN_NAMES[mode]) if mode in SCREEN_NAMES else _("this screen")
            title = _("Help: {screen}").format(screen=name)
            yield Static(Text(title, "bold"), classes="help-title")
            help_text = getattr(self.for_screen, "help_text", None)
            about = help_text() if help_text is not None else ""
            if about:
                yield Static(about)
            yield Static(self._table(_("Keys on this screen"), on_screen))
            yield Static(self._table(_("Keys everywhere"), everywhere))
            yield Static(Text(_("What the numbers mean"), "bold"), classes="help-title")
            yield Static(self._grid("", [(_(word), _(idea)) for word, idea in IDEAS]))
        yield SteadyFooter()

    def _table(self, title: str, bindings: Iterable[BindingType]) -> Table:
        rows = key_rows(bindings, self.app.get_key_display)
        return self._grid(title, [(row.keys_text, row.text) for row in rows])

    @staticmethod
    def _grid(title: str, rows: Iterable[tuple[str, str]]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        if title:
            table.title = title
            table.title_justify = "left"
            table.title_style = "bold"
        for key, text in rows:
            table.add_row(key, text)
        return table
