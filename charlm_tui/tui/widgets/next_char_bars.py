"""Provides NextCharBars: the model's top-k guesses for the next character, as bars.

The console hands it a probability vector after every keystroke; it shows as many of the
most likely characters as fit, each with its probability, and the entropy in bits.
"""

from __future__ import annotations

import math

import torch
from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from charlm_tui.core.i18n import N_, _
from charlm_tui.core.vocab import Vocab, describe_char

EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `fraction` of `width` cells long, in eighths of a cell."""
    eighths = max(0, min(width * 8, round(fraction * width * 8)))
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


class NextCharBars(Widget):
    """Bars of P(next character | text so far), most likely first, with the entropy."""

    DEFAULT_CSS = """
    NextCharBars {
        height: 1fr;
        min-height: 3;
        padding: 0 1;
    }
    NextCharBars > .next-char-bars--bar {
        color: $accent;
    }
    NextCharBars > .next-char-bars--title {
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {"next-char-bars--bar", "next-char-bars--title"}

    def __init__(self, *, top_k: int = 12, id: str | None = None) -> None:
        super().__init__(id=id)
        self.top_k = top_k
        self._probs: torch.Tensor | None = None
        self._vocab: Vocab | None = None
        self._entropy: float | None = None
        self._note = N_("type a few characters to see what the model expects next")

    def show(self, probs: torch.Tensor, vocab: Vocab, entropy_bits: float) -> None:
        """Draw a new distribution (V,) over `vocab`."""
        self._probs = probs.detach().float().cpu()
        self._vocab = vocab
        self._entropy = entropy_bits
        self.refresh()

    def clear(self, note: str) -> None:
        """Show a line of text instead of bars (no model yet, for instance); `note` is in
        English, marked N_, and drawn in the current language."""
        self._probs = None
        self._note = note
        self.refresh()

    @property
    def top_chars(self) -> list[tuple[str, float]]:
        """The characters currently drawn, most likely first (for tests and the palette)."""
        if self._probs is None or self._vocab is None:
            return []
        k = min(self.top_k, len(self._probs))
        values, indices = torch.topk(self._probs, k)
        return [
            (self._vocab.itos[i], float(p)) for p, i in zip(values, indices.tolist(), strict=True)
        ]

    def render(self) -> RenderableType:
        title_style = self.get_component_rich_style("next-char-bars--title")
        if self._probs is None or self._vocab is None or self._entropy is None:
            return Text.assemble((_("P(next character)") + "\n", title_style), _(self._note))
        width, height = self.size.width or 40, self.size.height or 10
        choices = 2.0**self._entropy if math.isfinite(self._entropy) else math.inf
        text = Text()
        text.append(_("P(next character)") + "\n", title_style)
        entropy = _("entropy {bits:.2f} bits ≈ {choices:.1f} choices")
        text.append(entropy.format(bits=self._entropy, choices=choices))
        rows = max(1, min(self.top_k, height - 2))
        bar_style = self.get_component_rich_style("next-char-bars--bar")
        bar_width = max(4, width - 11)
        chars = self.top_chars[:rows]
        top = chars[0][1] if chars else 1.0
        for ch, p in chars:
            label = describe_char(ch)
            text.append("\n")
            text.append(" " * max(0, 2 - cell_len(label)) + label + " ")
            text.append(bar(p / top if top > 0 else 0.0, bar_width).ljust(bar_width), bar_style)
            text.append(f"{p * 100:5.1f}%")
        return text
