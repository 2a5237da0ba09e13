"""Provides OpenCheckpointScreen: a small dialog asking for the path of a checkpoint (or run)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from charlm_tui.core.i18n import N_, _
from charlm_tui.tui.widgets.path_suggester import PathSuggester


class OpenCheckpointScreen(ModalScreen[str | None]):
    """Enter opens the typed path, Esc cancels; the path completes from disk (→ accepts)."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    DEFAULT_CSS = """
    OpenCheckpointScreen {
        align: center middle;
    }
    OpenCheckpointScreen > Vertical {
        width: 80%;
        max-width: 90;
        height: auto;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    """

    def __init__(self, default: str = "", prompt: str | None = None) -> None:
        super().__init__()
        self.default = default
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                self.prompt or _("Open a checkpoint (.safetensors): Enter opens, Esc cancels")
            )
            yield Input(self.default, suggester=PathSuggester(), compact=True, id="checkpoint-path")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
