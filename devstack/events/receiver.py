"""One long-polling receiver per queue, feeding a few concurrent workers.

Only one ReceiveMessage per queue is ever outstanding, and it waits at most
RECEIVE_WAIT_SECONDS. On stop the runtime lets it return and hands back
(visibility 0) whatever it brought after the stop, so a restart does not
strand messages for a whole visibility timeout the way a killed poller's
pending receive would.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.events import threads
from devstack.events.invoker import busy
from devstack.events.masking import mask_text

log = logging.getLogger("devstack.runtime")

RECEIVE_WAIT_SECONDS = 2
SQS_MAX_BATCH = 10

Message = dict[str, Any]
WorkUnit = list[Message]


class Receiver:
    """`read(free)` receives and returns up to `free` work units (each a list of
    messages handled by one invocation); `handle(unit)` processes one unit."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        read: Callable[[int], list[WorkUnit]],
        handle: Callable[[WorkUnit], None],
        workers: int,
        stop: threading.Event,
        companions: tuple[tuple[str, Callable[[], None]], ...] = (),
    ) -> None:
        """`companions`: (name, loop) pairs run in threads of their own beside the receive and
        work loops, and joined with them (a topic's deferred deletes)."""
        self.name, self.sqs, self.queue_url = name, sqs, queue_url
        self.companions = companions
        self.read, self.handle, self.workers, self.stop = read, handle, workers, stop
        self.slots = threading.Semaphore(workers)
        self.work: queue.Queue[WorkUnit] = queue.Queue()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [threads.start(f"{self.name}-receive", self._receive_loop, self.stop)]
        self.threads += [threads.start(f"{self.name}-{i}", self._work_loop, self.stop) for i in range(self.workers)]
        self.threads += [threads.start(f"{self.name}-{name}", loop, self.stop) for name, loop in self.companions]

    def join(self, deadline: float) -> None:
        """After stop: the outstanding receive returns, queued work is handed back, work under way ends."""
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def release(self, messages: list[Message]) -> None:
        """Make messages visible again at once: they were received but will not be handled."""
        for start in range(0, len(messages), SQS_MAX_BATCH):
            chunk = messages[start:start + SQS_MAX_BATCH]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                       for i, m in enumerate(chunk)]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                log.warning("%s: could not hand back %d message(s): %s", self.name, len(chunk), exc)

    def _free_slots(self) -> int:
        """Block for one free worker, then take any others that are free too."""
        while not self.stop.is_set():
            if self.slots.acquire(timeout=0.5):
                free = 1
                while free < SQS_MAX_BATCH and self.slots.acquire(blocking=False):
                    free += 1
                return free
        return 0

    def _receive_loop(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            free = self._free_slots()
            if not free:
                return
            try:
                units = self.read(free)
                backoff = 1.0
            except (BotoCoreError, ClientError) as exc:
                log.error("%s: receive failed: %s", self.name, exc)
                units = []
                self.stop.wait(backoff)
                backoff = min(10.0, backoff * 2)
            for _ in range(free - len(units)):
                self.slots.release()
            if self.stop.is_set():
                self._give_back(units)
                return
            for unit in units:
                self.work.put(unit)

    def _give_back(self, units: list[WorkUnit]) -> None:
        self.release([m for unit in units for m in unit])
        for _ in units:
            self.slots.release()

    def _work_loop(self) -> None:
        while True:
            try:
                unit = self.work.get(timeout=0.5)
            except queue.Empty:
                if self.stop.is_set():
                    return
                continue
            if self.stop.is_set():
                self._give_back([unit])
                continue
            try:
                with busy():
                    self.handle(unit)
            except (BotoCoreError, ClientError) as exc:
                log.error("%s: handling failed: %s", self.name, exc)
            except Exception as exc:  # noqa: BLE001 - one poison message must not stop the poller
                # Its messages are not deleted: they come back and, as on AWS, the queue's
                # redrive policy (or the handler's retries) moves them to the DLQ.
                log.error("%s: a batch could not be handled (%s: %s); its messages come back",
                          self.name, type(exc).__name__, mask_text(str(exc))[:200])
            finally:
                self.slots.release()
