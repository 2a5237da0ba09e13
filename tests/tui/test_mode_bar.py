"""The mode bar: the screens' keys, then what the app is doing, as much as the width allows."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from charlm_tui.tui.widgets.mode_bar import ModeBar


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ModeBar("training")


@pytest.mark.parametrize(
    ("width", "shown", "dropped"),
    [
        (120, ["sherlock · 83 chars", "bigram running 480/1,000"], []),
        (80, ["bigram running 480/1,000"], ["sherlock"]),  # the step count wins
    ],
)
async def test_a_narrow_bar_drops_the_least_important_part_not_the_step_count(
    width, shown, dropped
) -> None:
    app = BarApp()
    async with app.run_test(size=(width, 3)) as pilot:
        bar = app.query_one(ModeBar)
        bar.set_status("sherlock · 83 chars", "bigram running 480/1,000")
        await pilot.pause()
        line = str(bar.render())
        assert line.startswith("  1 Dataset   2 Train   3 Console ")
        for text in shown:
            assert text in line
        for text in dropped:
            assert text not in line
