"""Provides how many cores other processes keep busy, so training can leave them alone.

A torch thread that shares its core with another process makes the others wait for it at
every barrier, and it waits for the scheduler. So the trainer picks its thread count from
the cores the rest of the machine leaves free, and looks again every few seconds.
"""

from __future__ import annotations

import os
import time

CHECK_EVERY_S = 5.0


def cores() -> int:
    return os.cpu_count() or 1


def load_average() -> float:
    """Runnable processes over the last minute (0.0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def free_cores(others_busy: float) -> int:
    """Threads worth running while other processes keep `others_busy` cores busy."""
    return max(1, cores() - round(others_busy))


class CpuLoad:
    """Samples /proc/stat: busy core-seconds of the machine minus this process's own.

    `others_busy()` gives the cores other processes kept busy since the previous call
    (None where /proc/stat is missing: not Linux). `due()` says whether CHECK_EVERY_S
    passed since the last reading; it costs a clock read, so it can run at every step.
    """

    def __init__(self, every_s: float = CHECK_EVERY_S) -> None:
        self.every_s = every_s
        self._last = self._sample()
        self._next = time.monotonic() + every_s

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(wall s, busy core-seconds of the machine, CPU seconds of this process)."""
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
        busy = user + nice + system + irq + softirq + steal  # steal: the hypervisor took it
        return time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), time.process_time()

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def others_busy(self) -> float | None:
        now = self._sample()
        last, self._last = self._last, now
        self._next = time.monotonic() + self.every_s
        if now is None or last is None or now[0] - last[0] <= 0:
            return None
        others = (now[1] - last[1]) - (now[2] - last[2])
        return max(0.0, others / (now[0] - last[0]))
