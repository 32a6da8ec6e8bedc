"""A delivery status never moves backwards, whatever order and how often SES feedback arrives.

Exhaustive over every order of Delivery / Bounce / Complaint (each also
delivered twice), then property-based over arbitrary sequences that mix in
soft bounces, not-spam complaints and both formats. The expected final state
is computed independently of the code under test: the highest-ranked outcome
seen (delivered < bounced < complained), or `sent` if there was none; the
address is suppressed exactly when a hard bounce or a complaint other than
not-spam arrived.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.pipeline import feedback
from tests.support import ses_events
from tests.support.tracking import address, is_suppressed, new_id, new_message_id, record_sent, status_of

RANK = {"sent": 0, "delivered": 1, "bounced": 2, "complained": 3}


@dataclass(frozen=True)
class Event:
    name: str
    outcome: str | None  # the status it moves to, None when it only notes a reason
    suppresses: bool

    def record(self, fmt: str, message_id: str, recipient: str, lead_id: str) -> dict:
        tags = {"lead_id": lead_id, "kind": "customer_confirmation"}
        if self.name == "delivery":
            return ses_events.delivery(fmt, message_id, [recipient], tags)
        if self.name == "hard_bounce":
            return ses_events.bounce(fmt, message_id, [recipient], tags, "Permanent", "General")
        if self.name == "soft_bounce":
            return ses_events.bounce(fmt, message_id, [recipient], tags, "Transient", "MailboxFull")
        if self.name == "complaint":
            return ses_events.complaint(fmt, message_id, [recipient], tags, "abuse")
        return ses_events.complaint(fmt, message_id, [recipient], tags, "not-spam")


DELIVERY = Event("delivery", "delivered", False)
HARD_BOUNCE = Event("hard_bounce", "bounced", True)
SOFT_BOUNCE = Event("soft_bounce", None, False)
COMPLAINT = Event("complaint", "complained", True)
NOT_SPAM = Event("not_spam", "complained", False)
ALL_EVENTS = (DELIVERY, HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT, NOT_SPAM)


def expected_final(events: list[Event]) -> str:
    outcomes = [e.outcome for e in events if e.outcome]
    return max(outcomes, key=RANK.__getitem__) if outcomes else "sent"


def run_sequence(events: list[Event], formats: list[str]) -> tuple[list[str], str, str]:
    """Apply the events in order to one sent delivery; return the status after each."""
    lead_id, message_id, recipient = new_id(), new_message_id(), address("order")
    delivery_id = record_sent(lead_id, "customer_confirmation", recipient, message_id)
    seen = []
    for event, fmt in zip(events, formats, strict=True):
        feedback.handle(event.record(fmt, message_id, recipient, lead_id))
        seen.append(status_of(delivery_id))
    return seen, delivery_id, recipient


def assert_never_backwards(events: list[Event], seen: list[str]) -> None:
    ranks = [RANK[s] for s in seen]
    assert ranks == sorted(ranks), f"status went backwards: {list(zip([e.name for e in events], seen, strict=True))}"
    assert seen[-1] == expected_final(events)


ORDERS = list(itertools.permutations([DELIVERY, HARD_BOUNCE, COMPLAINT]))


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(e.name for e in o))
@pytest.mark.parametrize("fmt", ses_events.FORMATS)
def test_every_order_of_delivery_bounce_complaint(shared_aws, order, fmt):
    events = list(order)
    seen, _, recipient = run_sequence(events, [fmt] * len(events))
    assert_never_backwards(events, seen)
    assert seen[-1] == "complained"  # the highest rank wins whatever the order
    assert is_suppressed(recipient)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(e.name for e in o))
def test_every_order_with_each_event_duplicated(shared_aws, order):
    events = [e for e in order for _ in range(2)]
    seen, _, _ = run_sequence(events, ["event", "identity"] * len(order))
    assert_never_backwards(events, seen)
    for index in range(1, len(events), 2):
        assert seen[index] == seen[index - 1]  # the duplicate changed nothing


@pytest.mark.parametrize(
    ("first", "late"),
    [(HARD_BOUNCE, DELIVERY), (COMPLAINT, DELIVERY), (COMPLAINT, HARD_BOUNCE)],
    ids=lambda e: e.name,
)
def test_late_lower_event_changes_nothing(shared_aws, first, late):
    seen, _, _ = run_sequence([first, late], ["event", "event"])
    assert seen == [first.outcome, first.outcome]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ALL_EVENTS), st.sampled_from(ses_events.FORMATS)), min_size=1, max_size=7
    )
)
def test_any_sequence_never_goes_backwards(shared_aws, steps):
    # Each example uses a fresh delivery and address, so the shared tables do not leak between examples.
    events = [event for event, _ in steps]
    seen, _, recipient = run_sequence(events, [fmt for _, fmt in steps])
    assert_never_backwards(events, seen)
    assert is_suppressed(recipient) == any(e.suppresses for e in events)
