"""Provides SwitchBox: a Checkbox whose mark is X when on and blank when off.

Textual's Checkbox shows X either way and tells the states apart by colour alone, which
NO_COLOR and many projectors lose.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class SwitchBox(Checkbox):
    """A checkbox readable without colour."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
