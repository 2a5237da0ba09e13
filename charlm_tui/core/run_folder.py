"""Provides run-folder ownership: one folder per run, and a lock while a run writes in it.

A new run gets a folder nobody else holds (created atomically, with a -2, -3 suffix when
two runs start in the same second). A run that writes in a folder holds `RUN/.lock`
(an advisory `flock`, released by the kernel if the process dies), so a second run on the
same folder refuses instead of overwriting the first one's checkpoints. A folder that
already holds a run is only reused to continue that run (`--resume`).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from charlm_tui.core.i18n import _

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the run goes on unlocked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
RUN_FILES = ("config.json", "metrics.jsonl", "last.safetensors", "best.safetensors")


class RunFolderInUse(Exception):
    """A run folder belongs to another run; the message says whose and the way out."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def create_run_dir(root: Path, name: str) -> Path:
    """Create and return <root>/<name>, or <name>-2, -3, … when that is taken.

    mkdir is the claim: of two runs that pick the same name, only one creates it. A root
    that cannot be written gives back the first name uncreated, for the trainer to report.
    """
    path, n = root / name, 1
    while True:
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            n += 1
            path = root / f"{name}-{n}"
        except OSError:
            return root / name


def timestamped_run_dir(root: Path, model: str) -> Path:
    """A new run folder <root>/<YYYYmmdd-HHMMSS>-<model>, created (see create_run_dir)."""
    return create_run_dir(root, f"{time.strftime('%Y%m%d-%H%M%S')}-{model}")


def run_files(path: Path) -> list[str]:
    """The files of a run that `path` already holds (none for a new or empty folder)."""
    return [name for name in RUN_FILES if (path / name).exists()]


def discard_if_empty(path: Path) -> None:
    """Remove a run folder that holds nothing but its lock (a run that never started)."""
    try:
        if {p.name for p in path.iterdir()} <= {LOCK_NAME}:
            (path / LOCK_NAME).unlink(missing_ok=True)
            path.rmdir()
    except OSError:
        pass


class RunFolderLock:
    """Holds `RUN/.lock` for as long as a run writes in RUN; a second holder is refused."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def acquire(self) -> RunFolderLock:
        """Take the lock, or raise RunFolderInUse naming the process that has it."""
        if fcntl is None:
            return self
        lock_path = self.path / LOCK_NAME
        while True:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                lock_file = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115
            except OSError:
                # a folder that cannot be made or written: the trainer's first write says
                # so, in words, and nothing can be written there to be overwritten
                return self
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock_file.seek(0)
                holder = lock_file.read().strip() or "unknown"
                lock_file.close()
                said = _(
                    "{path} is in use by another run (process {holder}): wait for it "
                    "to finish, or give this run a new --out"
                )
                raise RunFolderInUse(
                    said.format(path=self.path, holder=holder), self.path
                ) from None
            if _same_file(lock_file, lock_path):
                break
            lock_file.close()  # its holder removed it as we opened it: take the new one
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._file = lock_file
        return self

    def release(self) -> None:
        """Remove the lock file (the folder is left as the run left it) and unlock."""
        if self._file is not None:
            # removed while still locked, so whoever opened it meanwhile sees it is gone
            with contextlib.suppress(OSError):
                (self.path / LOCK_NAME).unlink()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RunFolderLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _same_file(opened: IO[str], path: Path) -> bool:
    """Whether `path` still names the file `opened` is (a released lock file is removed)."""
    try:
        return os.stat(path).st_ino == os.fstat(opened.fileno()).st_ino
    except OSError:
        return False


def claim_run_folder(path: Path, *, continuing: bool = False) -> RunFolderLock:
    """Lock `path` for a run; refuse if another run writes there, or (unless `continuing`
    the run it holds) if it already holds a run. Use the result as a context manager."""
    lock = RunFolderLock(path).acquire()
    found = run_files(path)
    if found and not continuing:
        lock.release()
        last = path / "last.safetensors"
        way_out = (
            _("continue it with --resume {last}, or give the new run a new --out").format(last=last)
            if last.is_file()
            else _("give the new run a new --out (or delete the folder)")
        )
        said = _("{path} already holds a run ({files}): {way_out}")
        raise RunFolderInUse(said.format(path=path, files=", ".join(found), way_out=way_out), path)
    return lock
