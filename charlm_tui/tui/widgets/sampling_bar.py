"""Provides SamplingBar: the sampling knobs, always visible, each with the keys that turn it."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from charlm_tui.core.i18n import N_, _

# (option, label, keys shown): F-keys work while typing; the bracket keys when not.
KNOB_KEYS = (
    ("temperature", N_("temp"), "F2/3"),
    ("top_k", N_("top-k"), "F4/5"),
    ("top_p", N_("top-p"), "F6/7"),
    ("length", N_("len"), "F8/9"),
    ("seed", N_("seed"), "F10"),
)
NARROW = 76  # below this width the keys are left to the help screen (F1)


def knob_value(name: str, value: object) -> str:
    if name == "temperature":
        return _("0 greedy") if value == 0 else f"{value:.2f}"
    if name == "top_k":
        return _("off") if not value else str(value)
    if name == "top_p":
        return _("off") if value is None or value >= 1.0 else f"{value:.2f}"  # type: ignore[operator]
    if name == "seed":
        return _("random") if value is None else str(value)
    return str(value)


class SamplingBar(Widget):
    """`temp 1.00 F2/F3 · top-k off F4/F5 · …` and, on a second line, the model source."""

    DEFAULT_CSS = """
    SamplingBar {
        height: auto;
        max-height: 3;
        background: $panel;
        padding: 0 1;
    }
    SamplingBar > .sampling-bar--value {
        text-style: bold;
    }
    SamplingBar > .sampling-bar--key {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {"sampling-bar--value", "sampling-bar--key"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._values: dict[str, object] = {}
        self._source = ""

    def show(self, values: Mapping[str, object], source: str) -> None:
        self._values = dict(values)
        self._source = source
        self.refresh(layout=True)

    def _knobs(self, value_style: Style, key_style: Style, *, with_keys: bool) -> Text:
        """The knobs' line, with the keys that turn them or without."""
        text = Text()
        for i, (name, label, keys) in enumerate(KNOB_KEYS):
            if i:
                text.append(" · ")
            text.append(f"{_(label)} ")
            text.append(knob_value(name, self._values.get(name)), value_style)
            if with_keys:
                text.append(f" {keys}", key_style)
        return text

    def render(self) -> RenderableType:
        value_style = self.get_component_rich_style("sampling-bar--value")
        key_style = self.get_component_rich_style("sampling-bar--key")
        text = self._knobs(value_style, key_style, with_keys=self.size.width >= NARROW)
        if text.cell_len > self.content_size.width > 0:  # longer words (Japanese): no keys
            text = self._knobs(value_style, key_style, with_keys=False)
        if self._source:
            text.append("\n" + _("model: "))
            text.append(self._source, value_style)
        return text
