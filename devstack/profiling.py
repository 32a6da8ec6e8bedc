"""Optional cProfile of a local-stack process, every thread of it: LEADFLOW_PROFILE_DIR.

With LEADFLOW_PROFILE_DIR set, the emulator processes and the event runtime
profile themselves from start to stop and write `<dir>/<name>-<pid>.prof`
(pstats format, one file per process: `python -m pstats FILE`, then
`sort tottime`, `stats 30`). Each thread gets its own profiler (cProfile
follows only the thread that enabled it); they are merged at the end. Times
are each thread's CPU time, not the wall clock, so a thread waiting for the
GIL, a lock or a socket adds nothing.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROFILE_ENV = "LEADFLOW_PROFILE_DIR"

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


class _Snapshot:
    """What pstats.Stats reads from a profiler: its stats, and a create_stats with nothing left to do."""

    def __init__(self, stats: dict[Any, Any]) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def _begin_thread(*_: Any) -> None:
    """threading.setprofile's hook: runs once in each new thread, which then profiles itself."""
    profile = cProfile.Profile(time.thread_time)
    with _lock:
        _profiles.append(profile)
    profile.enable()  # replaces this hook for the thread


def start() -> bool:
    """Profile this process (and every thread it starts from now on) if LEADFLOW_PROFILE_DIR is set."""
    if not os.environ.get(PROFILE_ENV):
        return False
    threading.setprofile(_begin_thread)
    _begin_thread()
    return True


def dump(name: str) -> Path | None:
    """Write what was profiled so far to LEADFLOW_PROFILE_DIR/<name>-<pid>.prof (None: not profiling)."""
    directory = os.environ.get(PROFILE_ENV)
    if not directory:
        return None
    sys.setprofile(None)
    threading.setprofile(None)
    with _lock:
        profiles = list(_profiles)
    if not profiles:
        return None
    merged: pstats.Stats | None = None
    for profile in profiles:
        # A snapshot, not create_stats(): that disables a profiler other threads still run.
        profile.snapshot_stats()
        snapshot = _Snapshot(dict(profile.stats))
        if not snapshot.stats:
            continue
        if merged is None:
            merged = pstats.Stats(snapshot)  # type: ignore[arg-type]
        else:
            merged.add(snapshot)  # type: ignore[arg-type]
    if merged is None:
        return None
    path = Path(directory) / f"{name}-{os.getpid()}.prof"
    path.parent.mkdir(parents=True, exist_ok=True)
    merged.dump_stats(path)
    return path
