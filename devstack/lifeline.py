"""A lifeline from the local stack to each process it starts.

The stack's children run in sessions of their own (so a terminal's Ctrl-C
reaches only the stack, which then stops them in order). That also means
nothing ends them if the stack itself dies without cleaning up (SIGKILL, an
OOM kill, a crashed supervisor). The lifeline is a pipe: the stack holds the
write end, every child inherits the read end and watches it from a thread.
When the stack is gone, however it went, the kernel closes the write end, the
child reads end-of-file and stops itself. A pipe rather than Linux's
parent-death signal: it is portable, and it does not fire when the *thread*
that started the child ends (prctl's PDEATHSIG does).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

ENV_FD = "LEADFLOW_LIFELINE_FD"
# After the lifeline breaks, a child gets this long to stop cleanly on SIGTERM.
GRACE_SECONDS = 5.0


class Lifeline:
    """The parent's end: one pipe for every child it spawns."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()

    @property
    def read_fd(self) -> int:
        return self._read_fd

    def child_env(self) -> dict[str, str]:
        return {ENV_FD: str(self._read_fd)}

    def close(self) -> None:
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 1):
            pass  # nothing is ever written; any byte is ignored
    except OSError:
        pass
    # The parent is gone: stop as if told to, and make sure of it.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def watch_parent() -> None:
    """In a child: stop this process once the parent's lifeline breaks (no-op without one)."""
    raw = os.environ.pop(ENV_FD, "")
    if not raw.isdigit():
        return
    threading.Thread(target=_watch, args=(int(raw),), name="lifeline", daemon=True).start()


# What the stack sends its event runtime when it stops as a whole, emulator included: stop
# without waiting for the receives in flight (nothing they bring could be handed back).
# SIGINT and SIGTERM (Ctrl-C on a runtime of your own, a restart) still wait for them.
STACK_STOPPING = signal.SIGUSR1


class StopSignal:
    """SIGINT or SIGTERM (and any of `also`), caught from the moment this is made: a child
    of the stack (emulator, runtime, mail viewer) serves until one arrives, then cleans up.
    `received` says which arrived first."""

    def __init__(self, also: tuple[int, ...] = ()) -> None:
        self._stopped = threading.Event()
        self.received: int | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, *also):
            signal.signal(sig, self._caught)

    def _caught(self, signum: int, _frame: object) -> None:
        if self.received is None:
            self.received = signum
        self._stopped.set()

    def wait(self) -> None:
        self._stopped.wait()
