"""The runtime's deferred deletes: ten to a DeleteMessageBatch, the rest after a linger, nothing lost on stop."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import ClientError

from devstack.events.deletes import DeferredDeletes, delete_messages


class FakeSQS:
    def __init__(self, fail: bool = False, refuse: frozenset[str] = frozenset()) -> None:
        self.batches: list[list[str]] = []
        self.fail, self.refuse = fail, refuse
        self.lock = threading.Lock()

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, object]:  # noqa: N803
        assert QueueUrl == "url" and len(Entries) <= 10
        assert [e["Id"] for e in Entries] == [str(i) for i in range(len(Entries))]
        if self.fail:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "DeleteMessageBatch")
        with self.lock:
            self.batches.append([e["ReceiptHandle"] for e in Entries])
        refused = [e for e in Entries if e["ReceiptHandle"] in self.refuse]
        failed = [{"Id": e["Id"], "Code": "ReceiptHandleIsInvalid"} for e in refused]
        return {"Successful": [], "Failed": failed}


def deleted(sqs: FakeSQS) -> list[str]:
    return [handle for batch in sqs.batches for handle in batch]


def test_a_full_batch_is_sent_at_once_by_the_worker_that_filled_it():
    sqs, stop = FakeSQS(), threading.Event()
    deletes = DeferredDeletes(sqs, "url", "h", stop, linger_seconds=60)
    for i in range(9):
        deletes.add(f"r{i}")
    assert sqs.batches == []  # gathering (no flusher thread runs in this test)
    deletes.add("r9")
    assert sqs.batches == [[f"r{i}" for i in range(10)]]


def test_fewer_than_ten_go_after_the_linger_in_one_call():
    sqs, stop = FakeSQS(), threading.Event()
    deletes = DeferredDeletes(sqs, "url", "h", stop, linger_seconds=0.05)
    flusher = threading.Thread(target=deletes.run)
    flusher.start()
    for i in range(3):
        deletes.add(f"r{i}")
    deadline = time.monotonic() + 5
    while not sqs.batches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sqs.batches == [["r0", "r1", "r2"]]
    stop.set()
    flusher.join(5)
    assert not flusher.is_alive()


def test_stop_sends_what_is_pending_and_later_deletes_go_at_once():
    sqs, stop = FakeSQS(), threading.Event()
    deletes = DeferredDeletes(sqs, "url", "h", stop, linger_seconds=60)
    flusher = threading.Thread(target=deletes.run)
    flusher.start()
    deletes.add("before")
    stop.set()
    flusher.join(5)
    assert not flusher.is_alive()
    assert deleted(sqs) == ["before"]
    deletes.add("after")  # a handler that finished during the stop grace
    assert deleted(sqs) == ["before", "after"]


def test_many_workers_lose_nothing_and_send_nothing_twice():
    sqs, stop = FakeSQS(), threading.Event()
    deletes = DeferredDeletes(sqs, "url", "h", stop, linger_seconds=0.01)
    flusher = threading.Thread(target=deletes.run)
    flusher.start()
    workers = [threading.Thread(target=lambda w=w: [deletes.add(f"w{w}-{i}") for i in range(37)]) for w in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    flusher.join(5)
    sent = deleted(sqs)
    assert sorted(sent) == sorted(f"w{w}-{i}" for w in range(6) for i in range(37))
    assert all(len(batch) <= 10 for batch in sqs.batches)
    assert len(sqs.batches) < len(sent)  # batched, not one call per message


def test_a_failing_delete_is_logged_not_raised(caplog):
    sqs, stop = FakeSQS(fail=True), threading.Event()
    stop.set()
    deletes = DeferredDeletes(sqs, "url", "handler", stop)
    deletes.add("r0")  # sent at once (stopped): the error is logged, the worker goes on
    assert "delete failed handler=handler messages=1" in caplog.text


def test_delete_messages_chunks_by_ten_and_logs_refusals(caplog):
    sqs = FakeSQS(refuse=frozenset({"r11"}))
    delete_messages(sqs, "url", [f"r{i}" for i in range(23)], "handler")
    assert [len(batch) for batch in sqs.batches] == [10, 10, 3]
    assert "delete failed handler=handler code=ReceiptHandleIsInvalid" in caplog.text
