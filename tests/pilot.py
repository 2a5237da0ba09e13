"""Provides the waits Pilot tests share: run the app until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.training import TrainingScreen


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


async def loaded(pilot: Pilot) -> CharLMApp:
    """Wait for the app's corpus; fail with the app's own words if it did not load."""
    app = pilot.app
    assert isinstance(app, CharLMApp)
    await until(pilot, lambda: app.dataset is not None or app.load_error is not None)
    assert app.dataset is not None, app.load_error
    return app


async def start_run(pilot: Pilot, steps: int) -> None:
    """From any screen: the training screen, `steps` in its form, then s (Start)."""
    await pilot.press("2")
    pilot.app.screen.query_one("#set-steps", Input).value = str(steps)
    await pilot.press("s")


async def pause_a_long_run(pilot: Pilot) -> None:
    """Start a run a million steps long, let it take a few steps, then p (pause)."""
    app = pilot.app
    assert isinstance(app, CharLMApp)
    await start_run(pilot, 1000000)
    await until(pilot, lambda: app.history.step >= 3)
    await pilot.press("p")
    assert app.training_state == "paused"


async def open_console(pilot: Pilot, *keys: str) -> GenerateScreen:
    """Press 3 (then `keys`, as typed there) and give the console screen."""
    await pilot.press("3", *keys)
    console = pilot.app.screen
    assert isinstance(console, GenerateScreen)
    return console


async def wait_until_loaded(pilot: Pilot) -> None:
    """Let the corpus load finish (the snapshot tests' wait: every worker done)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert pilot.app.dataset is not None, pilot.app.load_error


async def scripted_training_screen(
    pilot: Pilot, scripted_run: Callable[..., Any], *keys: str
) -> None:
    """The training screen after a scripted run (tests/tui/conftest.py), drawn now rather
    than at the next tick, then `keys` pressed there and the screen drawn again."""
    await wait_until_loaded(pilot)
    await pilot.press("2")
    scripted_run(pilot.app, pilot.app.dataset.vocab.size)
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TrainingScreen)
    screen.redraw()
    if keys:
        await pilot.press(*keys)
        screen.redraw()
    await pilot.pause()
