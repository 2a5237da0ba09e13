"""Provides atomic, durable file writes: a reader sees the old file or the new one, never half.

    atomic_write_bytes(path, data, *, durable=True) -> Path
    temp_path_for(path) -> Path
    remove_stale_temps(path) -> list[Path]

The bytes go to a temporary file in the same folder (``.<name>.tmp-<pid>-<n>``), which is
flushed and fsync'ed, then renamed over the target with ``os.replace`` (atomic on POSIX and
Windows when both names are on the same filesystem, which the same folder guarantees), and
finally the folder itself is fsync'ed so the rename survives a power cut. On any failure the
temporary file is removed and the exception (an ``OSError``) propagates; the target is
untouched. A process killed mid-write (SIGKILL, power loss) can leave a temporary file
behind but never a partial target; ``remove_stale_temps`` sweeps those of dead processes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from pathlib import Path

# Writes go out in slices so a huge buffer is not handed to one write() call (some
# platforms cap a single write at 2 GiB) and so tests can interrupt between slices.
_CHUNK_BYTES = 8 << 20

_counter = itertools.count()


def temp_path_for(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name next to ``path``: hidden, and tagged with our pid."""
    target = Path(path)
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{next(_counter)}")


def _temp_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(target.name)}\.tmp-(\d+)-\d+$")


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        # On Windows os.kill(pid, 0) would terminate the process: never probe there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files left next to ``path`` by writers that have died; return them.

    Only files named like ours (``.<name>.tmp-<pid>-<n>``) whose pid is not a live process
    are removed, so a save running in another process is never disturbed.
    """
    target = Path(path)
    pattern = _temp_pattern(target)
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed


def _fsync_dir(folder: Path) -> None:
    # The rename lives in the directory entry; without this a power cut can lose it.
    # Not possible on Windows (and some filesystems refuse with EINVAL): best effort.
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data).cast("B")
    offset = 0
    while offset < len(view):
        # os.write may write less than asked (signals, pipes, quotas): loop until done.
        written = os.write(fd, view[offset : offset + _CHUNK_BYTES])
        if written <= 0:
            raise OSError("write() wrote nothing")
        offset += written


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes | bytearray | memoryview,
    *,
    durable: bool = True,
) -> Path:
    """Write ``data`` to ``path`` atomically; return the path.

    ``durable`` fsyncs the file before the rename and the folder after it. Raises
    ``OSError`` (ENOSPC, EFBIG, EACCES, ...) with the temporary file already removed and
    any previous file at ``path`` intact.
    """
    target = Path(path)
    tmp = temp_path_for(target)
    fd = -1
    created = False
    try:
        # O_EXCL: never write through someone else's file or a planted symlink.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        created = True
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave the temp behind.
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    if durable:
        _fsync_dir(target.parent)
    return target
