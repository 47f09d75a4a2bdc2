"""A child process's peak RSS, measured from outside while it runs.

Not `getrusage`'s ru_maxrss: Linux starts a child's count from its parent's RSS at the fork,
so a child of a large benchmark process never reads below its parent. VmHWM in
/proc/<pid>/status is the high-water mark of the child's own memory after its exec.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType


def high_water_kb(pid: int) -> int | None:
    """The process's VmHWM now, or None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None  # a zombie: its memory is gone


class PeakRss:
    """`with PeakRss(child.pid) as peak: child.wait()`, then `peak.gb`. A thread reads the
    high-water mark every `interval` seconds; as the mark only grows, the last reading misses
    at most the growth of the child's last interval."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.kb = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            kb = high_water_kb(self.pid)
            if kb is None:
                return
            self.kb = max(self.kb, kb)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def gb(self) -> float:
        return self.kb / 1024**2
