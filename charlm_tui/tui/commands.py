"""Provides CharLMCommands: every key of the app and of its screens in the command palette.

The commands are read from the bindings (tui/keys.py): a key added to a screen shows here
by itself. A screen's command goes to that screen first, then runs the key's action there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from charlm_tui.core.metrics import UNITS
from charlm_tui.tui.keys import key_rows
from charlm_tui.tui.screens.training import TrainingScreen


class CharLMCommands(Provider):
    """The app's keys, each screen's keys, and a chart unit by name."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app = self.app
        display = app.get_key_display
        for row in key_rows(type(app).BINDINGS, display):
            yield row.text, f"{row.keys_text}, anywhere", partial(app.run_action, row.action)
        for mode, screen_type in app.MODES.items():
            for row in key_rows(getattr(screen_type, "BINDINGS", []), display):
                where = f"{row.keys_text} on the {mode} screen"
                yield row.text, where, partial(self._run_on, mode, row.action)
        for unit in UNITS:
            yield f"Chart unit: {unit}", "on the training screen", partial(self._set_unit, unit)

    async def _run_on(self, mode: str, action: str) -> None:
        """Go to the screen of `mode`, then run `action` there, as its key would."""
        await self.app.switch_mode(mode)
        await self.app.run_action(action, self.app.screen)

    async def _set_unit(self, unit: str) -> None:
        await self.app.switch_mode("training")
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
