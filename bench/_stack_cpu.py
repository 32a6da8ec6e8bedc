"""CPU accounting for the pipeline benchmark: where a burst's CPU goes, and what one AWS call costs.

A burst on the local stack is bound by CPU (every process of the stack shares
the machine's cores), so its ceiling is the machine's cores divided by the
CPU one lead costs, summed over the stack's processes. One AWS call costs a
fixed amount before any work is done: botocore building, signing and parsing
it in the caller, and the emulator's HTTP server, request parsing, dispatch and
response. Measured here on trivial requests, it tells how much of a lead's
CPU is round trips alone. Linux only (/proc), as the stack's own lifeline is.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Trivial requests per kind when measuring the fixed cost of a call.
CALLS_PER_KIND = 300


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by a set of processes between start() and stop()."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = 0.0

    def start(self) -> None:
        self.before = sum(map(process_cpu, self.pids))

    def stop(self) -> float:
        return sum(map(process_cpu, self.pids)) - self.before


@dataclass(frozen=True)
class CallCost:
    client_ms: float  # botocore in the caller's thread
    server_ms: float  # the emulator process that answered

    @property
    def total_ms(self) -> float:
        return self.client_ms + self.server_ms


@contextmanager
def paused(pids: list[int]) -> Iterator[None]:
    """SIGSTOP the processes (their idle polling would be counted as the emulator's), then SIGCONT."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def call_cost(calls: list[tuple[Callable[[], Any], int]], count: int = CALLS_PER_KIND) -> list[CallCost]:
    """The mean CPU of one call of each of `calls` (a trivial request, and the pid of the emulator
    process that answers it), over `count` of them, in this thread and in that process."""
    costs = []
    for call, pid in calls:
        call()  # connection and first-use costs out of the way
        before_server, before_client = process_cpu(pid), time.thread_time()
        for _ in range(count):
            call()
        client, server = time.thread_time() - before_client, process_cpu(pid) - before_server
        costs.append(CallCost(client_ms=client / count * 1000, server_ms=server / count * 1000))
    return costs


def mean_cost(costs: list[CallCost]) -> CallCost:
    return CallCost(client_ms=sum(c.client_ms for c in costs) / len(costs),
                    server_ms=sum(c.server_ms for c in costs) / len(costs))
