"""Provides CharLMScreen: what every screen shares (the mode bar, the footer, app state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen

from charlm_tui.core.i18n import N_, _
from charlm_tui.tui.widgets.mode_bar import ModeBar
from charlm_tui.tui.widgets.steady_footer import SteadyFooter
from charlm_tui.tui.widgets.translated import TrLabel

if TYPE_CHECKING:
    from charlm_tui.tui.studio import Studio

# the app's training states, as the mode bar and the training screen say them
STATES = {
    "idle": N_("idle"),
    "starting": N_("starting"),
    "running": N_("running"),
    "paused": N_("paused"),
    "stopping": N_("stopping"),
    "finished": N_("finished"),
    "failed": N_("failed"),
}


def state_words(state: str) -> str:
    """A training state in the current language."""
    return _(STATES[state]) if state in STATES else state


class CharLMScreen(Screen[None]):
    """A screen of the app: a mode bar on top, the footer below, its own body between."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    """A few sentences for the help screen about this screen."""
    BAR_SHOWS_STEPS: ClassVar[bool] = True
    """Whether the mode bar counts a run's steps (the training screen shows them itself: a
    bar redrawn at every tick drags the whole screen into the compositor's update)."""

    @property
    def charlm(self) -> Studio:
        """The app, as far as a screen needs it."""
        return cast("Studio", self.app)

    def help_text(self) -> str:
        """HELP in the current language, for the help screen."""
        return _(self.HELP) if self.HELP else ""

    def compose_bar(self) -> ComposeResult:
        yield ModeBar(self.MODE, id="mode-bar")

    def compose_footer(self) -> ComposeResult:
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "dataset", self._update_mode_bar, init=False)
        self.watch(self.app, "training_state", self._update_mode_bar, init=False)
        self.watch(self.app, "lang", self.retranslate, init=False)
        self._bar_version = -1  # run_version the mode bar was drawn from
        self._update_mode_bar()

    def follow_run(self) -> None:
        """At the app's tick, on the current screen: draw what the run changed since the
        last one (each screen adds its own parts)."""
        if self.charlm.run_version != self._bar_version:
            self._update_mode_bar()

    def on_screen_resume(self) -> None:
        self._update_mode_bar()

    def retranslate(self) -> None:
        """Draw this screen's words again in the language now chosen, keeping what it holds
        (a screen adds its own words); it runs when CharLMApp.apply_language sets app.lang."""
        for label in self.query(TrLabel):
            label.retranslate()
        self.query_one(ModeBar).refresh()
        self._update_mode_bar()
        for footer in self.query(SteadyFooter):
            footer.refresh(recompose=True)

    def _update_mode_bar(self) -> None:
        app = self.charlm
        self._bar_version = app.run_version
        parts = []
        if app.dataset is not None:
            parts.append(
                _("{corpus} · {size} chars").format(
                    corpus=app.dataset.corpus.name, size=app.dataset.vocab.size
                )
            )
        state = app.training_state
        if state != "idle":
            history = app.history
            progress = ""
            if history.total_steps and self.BAR_SHOWS_STEPS:
                progress = f" {history.step:,}/{history.total_steps:,}"
            parts.append(f"{app.train_config.model} {state_words(state)}{progress}")
        self.query_one(ModeBar).set_status(*parts)
