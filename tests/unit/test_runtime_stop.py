"""How the event runtime stops: on SIGINT or SIGTERM (Ctrl-C, a restart) it waits for the
receives in flight to hand back what they bring; told the whole stack is stopping, emulator
included (lifeline.STACK_STOPPING), it does not."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from devstack import lifeline
from devstack.events.engine import EventRuntime, RuntimeOptions


@pytest.fixture
def own_signal_handlers():
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, lifeline.STACK_STOPPING)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("first, then", [(signal.SIGINT, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT),
                                         (lifeline.STACK_STOPPING, signal.SIGTERM)])
def test_the_stop_signal_remembers_which_signal_came_first(own_signal_handlers, first, then):
    stop = lifeline.StopSignal(also=(lifeline.STACK_STOPPING,))
    assert stop.received is None
    os.kill(os.getpid(), first)
    os.kill(os.getpid(), then)
    stop.wait()
    assert stop.received == first


class Receiver:
    def __init__(self) -> None:
        self.joined = 0

    def join(self, deadline: float) -> None:
        self.joined += 1


@pytest.mark.parametrize("wait_for_receives, joined", [(True, 1), (False, 0)])
def test_only_a_restart_waits_for_the_receives_in_flight(tmp_path: Path, wait_for_receives, joined):
    runtime = EventRuntime(RuntimeOptions(tmp_path, "local", tmp_path / "settings.json", tmp_path))
    receivers = [Receiver(), Receiver()]
    runtime.receivers.extend(receivers)  # type: ignore[arg-type]
    runtime.stop(grace_seconds=0, wait_for_receives=wait_for_receives)
    assert runtime.stop_event.is_set()
    assert [r.joined for r in receivers] == [joined, joined]
