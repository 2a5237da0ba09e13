"""Provides TrLabel: a Label that keeps its English text and shows it in the current language.

A screen's fixed labels are TrLabels, so switching the language redraws them in place
(`retranslate`) without rebuilding the screen and losing what it holds.
"""

from __future__ import annotations

from textual.widgets import Label

from charlm_tui.core.i18n import _


class TrLabel(Label):
    """A fixed label, marked with N_() where it is composed and translated when drawn."""

    def __init__(self, msgid: str, **kwargs: object) -> None:
        super().__init__(_(msgid), **kwargs)  # type: ignore[arg-type]
        self.msgid = msgid

    def retranslate(self) -> None:
        """Show the label again in the language now chosen."""
        self.update(_(self.msgid))
