"""Provides the fault-injection harness: the real `charlm` in a pseudo-terminal or a pipe.

`Terminal` runs a command as a person would see it: a pty that is the process's
controlling terminal (so closing it sends SIGHUP, as a dropped SSH session does), a reader
thread that keeps the pty drained, and helpers to wait for text, press keys, send signals
and hang up. `run_charlm()` (tests/conftest.py) runs it with its output piped. Both give it an
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
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.conftest import run_charlm, write_tiny_corpus
from tests.pilot import loaded, open_console, start_run, until  # noqa: F401 (re-exported to the tests)

REPO = Path(__file__).resolve().parents[2]

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
ENTER_ALTERNATE_SCREEN = b"\x1b[?1049h"
ESCAPE = re.compile(rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


# a step as the mode bar says it ("running 123/1,000") or the training screen's speed line
# ("123/1,000 · 400 steps/s"), where the mode bar leaves it out
STEP_SHOWN = re.compile(r"running ([\d,]+)/|([\d,]+)/[\d,]+ · ")


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

    def start_training(self) -> int:
        """Start training from the command palette, as a person who knows Ctrl+P would;
        return the first step the screen shows (see STEP_SHOWN)."""
        self.press("\x10", pause=0.5)
        self.press("start training", pause=0.5)
        self.press("\r")
        self.until_match(STEP_SHOWN.pattern.replace(r"([\d,]+)", r"([1-9][\d,]*)"), timeout=30)
        return self.step_shown()

    def until_match(self, pattern: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if self.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the screen:\n{self.tail()}")
            time.sleep(0.05)

    def step_shown(self) -> int:
        """The last training step the screen showed, or 0."""
        found = ["".join(groups) for groups in STEP_SHOWN.findall(self.text())]
        return int(found[-1].replace(",", "")) if found else 0

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


# --- scenarios: one real process each, run together by the `sessions` fixture ----------


def _end(term: Terminal, ending: str) -> None:
    if ending == "sigterm":
        term.signal(signal.SIGTERM)
    elif ending == "sighup":
        term.signal(signal.SIGHUP)
    elif ending == "ctrl+c":
        term.press("\x03")
    elif ending == "hang up":
        term.hang_up()
    else:
        raise AssertionError(ending)


def _workdir(root: Path) -> Path:
    cwd = root / "work"
    cwd.mkdir(parents=True)
    write_tiny_corpus(cwd)
    return cwd


def drive_app(root: Path, ending: str, look: bool = False, **env: str) -> dict[str, object]:
    """The app in a pty: train from the palette (and `look` at the training screen), then
    end it by `ending` (sigterm, sighup, ctrl+c, hang up); report what happened."""
    term = Terminal(
        ["tui", "--corpus", "tiny.txt"], cwd=_workdir(root), env=isolated_env(root, **env)
    )
    try:
        term.until("tiny.txt ·")
        time.sleep(0.3)
        term.start_training()
        if look:
            term.press("\x10", pause=0.5)
            term.press("go to training", pause=0.5)
            term.press("\r")
            term.until("learning rate", timeout=30)
        before_end = bytes(term.output)
        shown = term.step_shown()
        began = time.monotonic()
        _end(term, ending)
        try:
            term.wait(timeout=10)
            hang = None
        except AssertionError as exc:
            hang = str(exc)
        return {
            "returncode": term.returncode,
            "exit_s": time.monotonic() - began,
            "hang": hang,
            "before_end": before_end,
            "output": bytes(term.output),
            "text": term.text(),
            "shown": shown,
            "runs": sorted((root / "data" / "charlm-tui" / "runs").glob("*/last.safetensors")),
            "files": files_under(root),
        }
    finally:
        term.close()


def drive_cli(root: Path, ending: str, out: str | None = "run") -> dict[str, object]:
    """`charlm train` in a pty with evals too rare to save, ended by `ending`; `out` None
    leaves the run folder to its default (the data dir)."""
    args = ["train", "--corpus", "tiny.txt", "--recipe", "modern", "--batch-size", "1"]
    args += ["--block-size", "8", "--steps", "10000000", "--eval-interval", "10000000"]
    args += ["--out", out] if out else []
    cwd = _workdir(root)
    term = Terminal(args, cwd=cwd, env=isolated_env(root))
    try:
        term.until("steps/s")
        _end(term, ending)
        term.wait(timeout=20)
        found = sorted(root.glob("**/last.safetensors"))
        from charlm_tui.core.checkpoint import read_metadata

        return {
            "returncode": term.returncode,
            "text": term.text(),
            "step": read_metadata(found[0])["step"] if found else None,
            "checkpoints": [str(p.relative_to(root)) for p in found],
            "files": files_under(root),
        }
    finally:
        term.close()


def drive_headless(root: Path, how: str) -> dict[str, object]:
    """`charlm tui` where it cannot draw: TERM=dumb on a pty, stdout piped, or stderr (where
    Textual draws) sent to a file."""
    cwd = _workdir(root)
    args = ["tui", "--corpus", "tiny.txt"]
    if how == "stdout piped":
        result = run_charlm(*args, cwd=cwd, env=isolated_env(root), timeout=60)
        return {"returncode": result.returncode, "text": result.stdout + result.stderr}
    log = root / "stderr.log"
    if how == "term dumb":
        term = Terminal(args, cwd=cwd, env=isolated_env(root, TERM="dumb"))
    elif how == "stderr to a file":
        term = Terminal(args, cwd=cwd, env=isolated_env(root), stderr_to=log)
    else:
        raise AssertionError(how)
    try:
        deadline = time.monotonic() + 60
        while term.poll() is None and time.monotonic() < deadline:
            if ENTER_ALTERNATE_SCREEN in (log.read_bytes() if log.exists() else b""):
                time.sleep(0.5)  # it is drawing the app into the file: seen enough
                break
            time.sleep(0.1)
        term.kill()  # a no-op when it has ended on its own
        logged = log.read_bytes() if log.exists() else b""
        return {"returncode": term.returncode, "output": bytes(term.output), "logged": logged}
    finally:
        term.close()


SCENARIOS: dict[str, tuple[Callable[..., dict[str, object]], dict[str, object]]] = {
    "app sigterm": (drive_app, {"ending": "sigterm", "look": True, "NO_COLOR": "1"}),
    "app sighup": (
        drive_app,
        {"ending": "sighup", "look": True, "TEXTUAL_COLOR_SYSTEM": "standard"},
    ),
    "app ctrl+c": (drive_app, {"ending": "ctrl+c"}),
    "app hang up": (drive_app, {"ending": "hang up"}),
    "cli ctrl+c": (drive_cli, {"ending": "ctrl+c"}),
    "cli sigterm": (drive_cli, {"ending": "sigterm", "out": None}),
    "cli hang up": (drive_cli, {"ending": "hang up"}),
    "tui term dumb": (drive_headless, {"how": "term dumb"}),
    "tui stdout piped": (drive_headless, {"how": "stdout piped"}),
    "tui stderr to a file": (drive_headless, {"how": "stderr to a file"}),
}


def run_scenarios(base: Path) -> dict[str, dict[str, object]]:
    """Run every scenario at once (each pays for importing torch in parallel)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {
            name: pool.submit(drive, base / name.replace(" ", "-"), **kwargs)
            for name, (drive, kwargs) in SCENARIOS.items()
        }
        results = {}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except AssertionError as exc:  # a scenario that could not even get going
                results[name] = {"failed": str(exc)}
        return results


def scenario(sessions: dict[str, dict[str, object]], name: str) -> dict[str, object]:
    """One scenario's report; fails with its reason if it could not even get going."""
    report = sessions[name]
    assert "failed" not in report, report.get("failed")
    return report


# --- Pilot -------------------------------------------------------------------------------
