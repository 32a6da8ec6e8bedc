"""`make dlq` / `make dlq ARGS="list ..."`: every DLQ with each message's id, age, what it is and why."""

from __future__ import annotations

import sys
import time

from chalicelib.pipeline import dead_letters
from chalicelib.pipeline.dead_letters import DeadLetter


def existing_queues(queues: list[str]) -> list[str]:
    """The chosen DLQs that exist in this account (an older stack may lack a newer one)."""
    from chalicelib.core import aws

    sqs = aws.sqs()
    present = []
    for queue in queues:
        try:
            dead_letters.queue_url(queue)
        except sqs.exceptions.QueueDoesNotExist:
            print(f"{queue}: no queue {dead_letters.dlq_name(queue)}; skipped", file=sys.stderr)
            continue
        except LookupError as error:
            print(f"{queue}: {error}; skipped", file=sys.stderr)
            continue
        present.append(queue)
    return present


def list_letters(queues: list[str], stage: str = "local") -> dict[str, list[DeadLetter]]:
    """Each chosen DLQ's messages, read without consuming them (`stage`: already configured)."""
    found: dict[str, list[DeadLetter]] = {}
    for queue in existing_queues(queues):
        url, letters = dead_letters.load(queue)
        dead_letters.release(url, letters)
        found[queue] = letters
    return found


def age(letter: DeadLetter, now: float | None = None) -> str:
    seconds = letter.age_seconds(now or time.time())
    if seconds is None:
        return "?"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def print_listing(found: dict[str, list[DeadLetter]]) -> None:
    for queue, letters in found.items():
        print(f"{queue} ({dead_letters.dlq_name(queue)}): {len(letters)} message(s)")
        for letter in letters:
            print(f"  {letter.message_id}  age {age(letter)}  {letter.summary}")
            print(f"      reason: {letter.reason}")
