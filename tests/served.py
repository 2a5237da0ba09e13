"""Provides `served_app`: `charlm serve` on 127.0.0.1 at a free port, for the browser tests.

The server and every app it starts share one process group of their own, so the tests end
exactly what they started, apps included, even when a test fails half-way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Served:
    """A running `charlm serve`: its page's address and the file its output goes to."""

    url: str
    log_path: Path

    def log(self) -> str:
        """What the server (and an app that failed to start) printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# the server is local: no proxy from the environment, nor one an earlier test left in
# urlopen's global opener (it keeps the proxies of the first call it served)
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_for_page(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll `url` until it answers 200; False if the server died or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            with LOCAL.open(url, timeout=2) as response:
                if response.status == 200:
                    return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def served_app(*args: str, cwd: Path | None = None, timeout: float = 60) -> Iterator[Served]:
    """Run `python -m charlm_tui serve --host 127.0.0.1 --port P ARGS` until the block ends."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="charlm-serve-") as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            # the apps' run folders go to the test's own data dir (conftest sets XDG_DATA_HOME)
            env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
            proc = subprocess.Popen(
                [sys.executable, "-m", "charlm_tui", "serve"]
                + ["--host", "127.0.0.1", "--port", str(port), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        served = Served(url=f"http://127.0.0.1:{port}", log_path=log_path)
        try:
            if not wait_for_page(served.url + "/", proc, timeout):
                raise RuntimeError(f"charlm serve did not answer on {served.url}:\n{served.log()}")
            yield served
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM the server's process group (apps save their runs on it), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_alive(proc.pid):
        proc.poll()  # reap the server, or its zombie keeps the group alive
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
