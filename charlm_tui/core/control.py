"""Provides RunControl: how a CLI signal handler or the app steers a running Trainer.

The Trainer reads it at every step boundary, from its own thread; anyone may call the
request methods from another thread. Nothing here blocks the caller.
"""

from __future__ import annotations

import threading


class RunControl:
    """Stop, pause and save-now requests for one training run, safe across threads."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._save = threading.Event()

    def request_stop(self) -> None:
        """End the run at the next step boundary (a paused run ends at once)."""
        self._stop.set()
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def request_save(self) -> None:
        """Write last.safetensors at the next step boundary."""
        self._save.set()

    def take_save_request(self) -> bool:
        """True once per request: the trainer saves and the request is gone."""
        if self._save.is_set():
            self._save.clear()
            return True
        return False

    def wait_while_paused(self, timeout_s: float | None = None) -> bool:
        """Block the training thread while paused; True when it may go on (or must stop)."""
        return self._running.wait(timeout_s)
