"""Provides CharLMCommands: the app's actions in the command palette (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from charlm_tui.tui.studio import Studio


class CharLMCommands(Provider):
    """Go to a screen, start/pause/stop/save training, change the chart's unit, get help."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app, studio = self.app, cast("Studio", self.app)
        yield (
            "Go to dataset",
            "pick a corpus, see its vocabulary (1)",
            partial(app.switch_mode, "dataset"),
        )
        yield (
            "Go to training",
            "train a model, watch the chart (2)",
            partial(app.switch_mode, "training"),
        )
        yield "Go to console", "type and generate text (3)", partial(app.switch_mode, "console")
        yield "Start training", "with the settings on the training screen (s)", self._start
        yield "Pause or resume training", "at the next step boundary (p)", studio.pause_training
        yield "Stop training", "and save a checkpoint (x)", studio.stop_training
        yield "Save a checkpoint now", "at the next step (w)", studio.request_save
        for unit in ("perplexity", "loss", "bpc"):
            yield (
                f"Chart unit: {unit}",
                "on the training screen (u cycles)",
                partial(self._set_unit, unit),
            )
        yield "Help", "keys and what the numbers mean (F1)", partial(app.run_action, "help")
        yield "Quit", "stops training at a step boundary and saves (q)", app.action_quit

    def _start(self) -> None:
        """Start as the training screen's s does: with the settings in its form."""
        self.app.switch_mode("training")
        self.app.call_after_refresh(self._start_from_form)

    def _start_from_form(self) -> None:
        from charlm_tui.tui.screens.training import TrainingScreen

        if isinstance(self.app.screen, TrainingScreen):
            self.app.screen.action_start()
        else:
            cast("Studio", self.app).start_training()

    def _set_unit(self, unit: str) -> None:
        from charlm_tui.tui.screens.training import TrainingScreen

        self.app.switch_mode("training")
        screen = self.app.screen
        if isinstance(screen, TrainingScreen):
            screen.set_unit(unit)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
