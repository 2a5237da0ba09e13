"""Provides key_rows: bindings as rows of (keys, what they do), for the help screen and the
command palette, read from the BINDINGS themselves so that neither keeps a copy of a key.

A binding's tooltip says in words what it does; its description is the footer's short
label. Bindings of one action (F2 and [) make one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from charlm_tui.core.i18n import _


@dataclass(frozen=True)
class KeyRow:
    """The keys of one action, as the terminal shows them, and what the action does."""

    keys: tuple[str, ...]
    action: str
    text: str

    @property
    def keys_text(self) -> str:
        return " / ".join(self.keys)


def key_rows(bindings: Iterable[BindingType], display: Callable[[Binding], str]) -> list[KeyRow]:
    """One row per action that has words (a tooltip or a description), in binding order,
    in the current language (the bindings hold their words in English, marked N_)."""
    groups: dict[str, list[Binding]] = {}
    for binding in Binding.make_bindings(bindings):
        groups.setdefault(binding.action, []).append(binding)
    rows = []
    for action, group in groups.items():
        text = next((b.tooltip or b.description for b in group if b.tooltip or b.description), "")
        if text:
            keys = tuple(dict.fromkeys(display(b) for b in group))
            rows.append(KeyRow(keys, action, _(text)))
    return rows
