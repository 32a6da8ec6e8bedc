"""Poller threads that survive their own bugs."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

from devstack.events.masking import mask_text

log = logging.getLogger("devstack.runtime")


def supervised(name: str, run: Callable[[], None], stop: threading.Event) -> Callable[[], None]:
    """Run `run` until it returns; on a crash log it (masked, one line) and start it again."""

    def loop() -> None:
        while not stop.is_set():
            try:
                run()
                return
            except Exception as exc:  # noqa: BLE001 - one broken poller must not end the runtime
                text = mask_text("".join(traceback.format_exception(exc)))
                log.error("poller %s crashed, restarting: %s", name, text.replace("\n", " | "))
                stop.wait(1.0)

    return loop


def start(name: str, run: Callable[[], None], stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=supervised(name, run, stop), name=name, daemon=True)
    thread.start()
    return thread
