"""Provides KeyQueue: the terminal's keys handed to the app one at a time, in order.

Textual sends a key to the widget that has the focus when the app reads it, but what a key
does (a binding that moves the focus, a menu that opens) happens a few turns of the event
loop later, through messages. Keys that arrive together, as they do when an SSH session
stalls and then delivers what was typed, all go to the first key's widget: `m` then Enter
pressed the Start button instead of opening the model menu. KeyQueue holds the keys back
and hands each one to Textual's own routing only when the work the previous key started
has run: no message pump of the app has a message waiting or in hand, or SETTLE_S has
passed (an app kept busy, a long action), so that no key waits long.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from textual import events
from textual.app import App, ScreenStackError
from textual.message_pump import MessagePump

# The longest a key waits for the work of the one before it: longer than building a screen
# on its first visit (docs/performance.md), short enough that keys are never held long.
SETTLE_S = 0.5


def unfinished(pump: MessagePump) -> int:
    """Messages `pump` has queued or is handling (Textual marks each one done when handled).

    It reads two private attributes, Textual's `_message_queue` and asyncio's count behind
    `Queue.join`; without them (another Textual) a pump counts as quiet, and keys go on
    at once, as Textual itself sends them.
    """
    queue: asyncio.Queue[object] | None = getattr(pump, "_message_queue", None)
    if not pump.is_running or queue is None:
        return 0
    count = getattr(queue, "_unfinished_tasks", None)
    return queue.qsize() if count is None else int(count)


class KeyQueue:
    """Keys in, one at a time out to `route`, each after the previous key's work has run."""

    def __init__(
        self,
        route: Callable[[events.Key], Awaitable[None]],
        pumps: Callable[[], Iterable[MessagePump]],
    ) -> None:
        self._route = route  # Textual's own handling of a key the app has just read
        self._pumps = pumps  # the app and the widgets a key's work may go through
        self._keys: deque[events.Key] = deque()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_app(cls, app: App[Any]) -> KeyQueue:
        """Keys handed on to Textual's own routing in `app` (priority bindings, then the
        focus); their work followed through the app and its current screen's widgets."""

        async def route(key: events.Key) -> None:
            try:
                await App.on_event(app, key)  # the app's own on_event queues keys here
            except Exception as error:  # as Textual's message loop does with a handler's error
                app._handle_exception(error)

        def pumps() -> list[MessagePump]:
            try:
                screen = app.screen
            except ScreenStackError:  # the app is closing: its screens are gone
                return [app]
            return [app, *screen.walk_children(with_self=True)]

        return cls(route, pumps)

    def start(self) -> None:
        """Start handing keys on; call from the app's task (the context Textual set)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="key-queue")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def put(self, key: events.Key) -> None:
        self._keys.append(key)
        self._arrived.set()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._keys:
                await self._route(self._keys.popleft())
                await self._settle()  # a key that comes in meanwhile waits for this one

    async def _settle(self) -> None:
        """Let the loop turn until the app is quiet or SETTLE_S has passed."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            await asyncio.sleep(0)
            if not any(unfinished(pump) for pump in self._pumps()):
                return
            if time.monotonic() > deadline:
                return
