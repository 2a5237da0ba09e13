"""Provides the fault-injection harness: the real `charlm` in a pseudo-terminal or a pipe.

`Terminal` runs a command as a person would see it: a pty that is the process's
controlling terminal (so closing it sends SIGHUP, as a dropped SSH session does), a reader
thread that keeps the pty drained, and helpers to wait for text, press keys, send signals
and hang up. `charlm()` runs the command with its output piped. Both give the process an
environment of its own: HOME, the XDG folders and the cwd inside a temporary folder.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot

from charlm_tui.tui.app import CharLMApp

REPO = Path(__file__).resolve().parents[2]

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
ENTER_ALTERNATE_SCREEN = b"\x1b[?1049h"
ESCAPE = re.compile(rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")

# A few plain sentences: a vocabulary of ~25 characters, trains in a blink.
TINY_TEXT = (
    "It was a bright cold day in April, and the clocks were striking thirteen. "
    "Holmes sat in his armchair with his eyes closed and his finger-tips together. "
    "Do you know, Watson, that it is the small things which matter most?\n"
) * 6


def isolated_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh user whose home, cache and data live under `root`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "NO_COLOR", "TEXTUAL", "COLUMNS", "LINES", "PYTEST"))
    }
    env.update(
        HOME=str(root / "home"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_STATE_HOME=str(root / "state"),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
        OMP_NUM_THREADS="1",
        TERM="xterm-256color",
    )
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def charlm(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 120, **popen: object
) -> subprocess.CompletedProcess[str]:
    """Run `python -m charlm_tui ARGS` with its output piped; wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "charlm_tui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        **popen,  # type: ignore[arg-type]
    )


def plain(output: bytes) -> str:
    """Terminal output with every escape sequence removed."""
    return ESCAPE.sub(b"", output).decode("utf-8", errors="replace")


class Terminal:
    """`python -m charlm_tui ARGS` in a pseudo-terminal of `size` (columns, rows)."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        size: tuple[int, int] = (100, 30),
        stderr_to: Path | None = None,
    ) -> None:
        self.started = time.monotonic()
        self.output = bytearray()
        self.returncode: int | None = None
        self._lock = threading.Lock()
        columns, rows = size
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.chdir(cwd)
                winsize = struct.pack("HHHH", rows, columns, 0, 0)
                fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                if stderr_to is not None:
                    os.dup2(os.open(stderr_to, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
                argv = [sys.executable, "-m", "charlm_tui", *args]
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        # Keep the pty drained: a full pty buffer would block the app's writes.
        while self._open:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if ready:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    with self._lock:
                        self.output.extend(data)
            except (OSError, ValueError):  # EIO: the child closed its side, or we hung up
                return

    def text(self) -> str:
        with self._lock:
            return plain(bytes(self.output))

    def until(self, text: str, timeout: float = 60) -> float:
        """Wait for `text` on the screen; return the seconds since the start."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if self.poll() is not None:
                raise AssertionError(f"exited ({self.returncode}) before {text!r}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear in {timeout} s:\n{self.tail()}")
            time.sleep(0.05)
        return time.monotonic() - self.started

    def tail(self, chars: int = 1500) -> str:
        return self.text()[-chars:]

    def press(self, *keys: str, pause: float = 0.15) -> None:
        """Type keys as a terminal sends them ("\\x03" is Ctrl+C, "\\x10" Ctrl+P)."""
        for key in keys:
            os.write(self.fd, key.encode())
            time.sleep(pause)

    def start_training(self, status: str = "running") -> None:
        """Start training from the command palette, as a person who knows Ctrl+P would."""
        self.press("\x10", pause=0.6)
        self.press("start training", pause=0.6)
        self.press("\r")
        self.until(status, timeout=30)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def hang_up(self) -> None:
        """Close our side of the pty: the kernel sends SIGHUP, writes now fail with EIO."""
        self._open = False
        self._reader.join(timeout=2)
        os.close(self.fd)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> float:
        """Wait for the process to end; return how long it took. Kills it on timeout."""
        begun = time.monotonic()
        while self.poll() is None:
            if time.monotonic() - begun > timeout:
                self.kill()
                raise AssertionError(f"still running {timeout} s later:\n{self.tail()}")
            time.sleep(0.05)
        time.sleep(0.1)  # the reader takes the last bytes
        return time.monotonic() - begun

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.returncode = -9

    def close(self) -> None:
        self.kill()
        if self._open:
            self._open = False
            self._reader.join(timeout=2)
            os.close(self.fd)


def files_under(root: Path) -> list[str]:
    """Every file below `root`, as sorted relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- Pilot -------------------------------------------------------------------------------


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
