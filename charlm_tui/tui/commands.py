"""Provides CharLMCommands: every key of the app and of its screens in the command palette.

The commands are read from the bindings (tui/keys.py): a key added to a screen shows here
by itself. A screen's command goes to that screen first, then runs the key's action there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from charlm_tui.core.i18n import LANGUAGES, N_, NAMES, _
from charlm_tui.core.metrics import UNITS
from charlm_tui.tui.keys import key_rows
from charlm_tui.tui.screens.training import TrainingScreen

if TYPE_CHECKING:
    from charlm_tui.tui.studio import Studio


# where a screen's key works, by mode
SCREENS = {
    "dataset": N_("{keys} on the dataset screen"),
    "training": N_("{keys} on the training screen"),
    "console": N_("{keys} on the console screen"),
    "tour": N_("{keys} in the notebook tour"),
}
UNIT_NAMES = {"perplexity": N_("perplexity"), "loss": N_("loss"), "bpc": N_("bits per char")}


class CharLMCommands(Provider):
    """The app's keys, each screen's keys, a chart unit and a language by name."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app = self.app
        display = app.get_key_display
        for row in key_rows(type(app).BINDINGS, display):
            where = _("{keys}, anywhere").format(keys=row.keys_text)
            yield row.text, where, partial(app.run_action, row.action)
        for mode, screen_type in app.MODES.items():
            for row in key_rows(getattr(screen_type, "BINDINGS", []), display):
                where = _(SCREENS[mode]).format(keys=row.keys_text)
                yield row.text, where, partial(self._run_on, mode, row.action)
        for unit in UNITS:
            title = _("Chart unit: {unit}").format(unit=_(UNIT_NAMES.get(unit, unit)))
            yield title, _("on the training screen"), partial(self._set_unit, unit)
        for lang in LANGUAGES:
            title = _("Language: {name}").format(name=NAMES[lang])
            # the other language's name too, so that either language's word finds it
            yield title, "Language / 言語", partial(cast("Studio", app).choose_language, lang)

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
