"""Provides HelpScreen (F1): the keys of the screen it was opened from, and the ideas.

The ideas are the notebook's, in a few plain sentences each.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

IDEAS = (
    (
        "vocabulary",
        "Every distinct character of the text, sorted. A character's position in it is its "
        "id (stoi); itos turns ids back into text. Sherlock, newlines as spaces, has 83.",
    ),
    (
        "one-hot",
        "An id as a vector of V zeros with a single 1 at the id. The notebook's model "
        "multiplies it by a weight matrix, which just picks one row: a learned vector per "
        "character.",
    ),
    (
        "loss",
        "Cross-entropy: -ln of the probability the model gave the character that really "
        "came next, averaged. 0 would be certainty; a uniform guess over V characters "
        "scores ln V.",
    ),
    (
        "e^-loss",
        "q = e^-loss is the model's typical chance of naming the right character (a "
        "geometric mean).",
    ),
    (
        "perplexity",
        "1/q = e^loss: how many characters the model is choosing between. A uniform guess "
        "gives V; the count-based bigram is the best a model that sees one character can do.",
    ),
    (
        "bits per char",
        "loss / ln 2: the same surprise in bits. The entropy of the console's bars is the "
        "model's own expected surprise for the next character.",
    ),
)

SCREEN_KEYS = (
    ("1 / d", "dataset screen"),
    ("2 / t", "training screen"),
    ("3 / g", "console"),
    ("F1 / ?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
    ("q / ctrl+q / ctrl+c", "quit (training stops at a step and saves)"),
)

CONSOLE_KEYS = (
    ("Enter", "generate from the seed"),
    ("Esc", "stop generating; again: leave the seed line (then 1/2/3 work)"),
    ("F2 / F3  ([ ])", "temperature down / up (0 = greedy)"),
    ("F4 / F5  ({ })", "top-k down / up (off = all characters)"),
    ("F6 / F7  (- =)", "top-p down / up (1 = off)"),
    ("F8 / F9  (, .)", "length shorter / longer"),
    ("F10  (r)", "next random seed"),
    ("ctrl+n  (m)", "model: as trained / untrained / checkpoint"),
    ("ctrl+o  (o)", "open a checkpoint file"),
    ("ctrl+l  (l)", "clear the transcript"),
)


def binding_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, description) for the shown and hidden bindings of a screen's class."""
    rows = []
    for binding in getattr(type(screen), "BINDINGS", []):
        if isinstance(binding, Binding) and binding.description:
            rows.append((binding.key.replace(",", " / "), binding.description))
    return rows


class HelpScreen(Screen[None]):
    """Keys first (this screen's, then the app's), then what the numbers mean."""

    BINDINGS = [
        Binding("escape,q,f1,question_mark", "app.pop_screen", "Close", priority=True),
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

    def compose(self) -> ComposeResult:
        from charlm_tui.tui.screens.generate import GenerateScreen

        with VerticalScroll():
            name = getattr(self.for_screen, "MODE", "") or "this screen"
            yield Static(Text(f"Help: {name}", "bold"), classes="help-title")
            about = getattr(self.for_screen, "HELP", "")
            if about:
                yield Static(about)
            rows = (
                list(CONSOLE_KEYS)
                if isinstance(self.for_screen, GenerateScreen)
                else binding_rows(self.for_screen)
            )
            yield Static(self._table("Keys on this screen", rows))
            yield Static(self._table("Keys everywhere", SCREEN_KEYS))
            yield Static(Text("What the numbers mean", "bold"), classes="help-title")
            yield Static(self._table("", IDEAS))
        yield Footer()

    @staticmethod
    def _table(title: str, rows) -> Table:  # noqa: ANN001
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
