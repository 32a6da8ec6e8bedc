"""The quick soak profile: a few dozen leads through the whole local stack
with every kind of fault on, then a full reconciliation (`make soak` runs 500)."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.soak import DEFAULT_FAULTS, SOAK_PHONE, personal_data_lines, run_soak

QUICK_FAULTS = {**DEFAULT_FAULTS, "crash_before_send": 0.02, "crash_after_send": 0.02, "seed": 11}


def test_log_scan_finds_full_addresses_and_phones_but_not_masked_ones():
    log = "\n".join([
        "INFO team_alert to a***@e***.com sent",
        "INFO customer_confirmation to ada.l@example.com sent",
        f"WARNING lead {SOAK_PHONE} failed",
        "INFO invoke handler=on_notification batch=3 duration_ms=12.5",
    ])
    assert personal_data_lines(log) == [log.splitlines()[1], log.splitlines()[2]]


@pytest.mark.e2e
def test_quick_soak_loses_nothing_duplicates_nothing_and_logs_no_personal_data():
    """Emails and status callbacks alike: zero lost, zero duplicated."""
    report = run_soak(leads=30, rate=10, faults=QUICK_FAULTS, settle_timeout=45)
    print(report.table())
    assert report.duplicates == []
    assert report.lost == []
    assert report.leads_without_outcome == set()
    assert report.notifications >= 3
    assert sum(report.outcomes.values()) == report.expected == 60 + report.notifications
    assert report.callbacks_lost == [] and report.callbacks_duplicated == [] and report.callbacks_out_of_order == []
    assert report.callbacks_acknowledged >= report.notifications
    assert report.log_lines > 100  # the scan read the stack's output
    assert report.personal_data_in_logs == []


def test_callback_reconciliation_accepts_the_same_event_again_and_nothing_else():
    from devstack.soak import Report, reconcile_callbacks

    def event(status: str, time: str = "t1", notification: str = "ntf_1") -> dict:
        return {"id": f"evt_{notification}_{status}", "notification_id": notification, "status": status, "time": time}

    def state(status: str, acknowledged: str, notification: str = "ntf_1") -> dict:
        return {"id": notification, "status": status, "callback": {"acknowledged": acknowledged}}

    sent, delivered = event("sent"), event("delivered")
    report = Report()
    reconcile_callbacks(report, [state("delivered", "delivered")], [sent, delivered], [dict(delivered)])
    assert (report.callbacks_redelivered, report.callbacks_duplicated, report.callbacks_lost,
            report.callbacks_out_of_order) == (1, [], [], [])

    report = Report()  # the same id with other content: the receiver's de-duplication would drop a change
    reconcile_callbacks(report, [state("delivered", "delivered")], [sent, delivered], [event("delivered", "t2")])
    assert report.callbacks_duplicated == [delivered["id"]]

    report = Report()  # older after newer, and a latest status never acknowledged
    reconcile_callbacks(report, [state("delivered", "sent"), state("sent", "sent", "ntf_2")],
                        [delivered, sent, event("sent", notification="ntf_2")], [])
    assert report.callbacks_out_of_order == ["ntf_1"] and report.callbacks_lost == ["ntf_1"]


def test_the_soak_redrives_as_soon_as_only_a_redrive_can_move_its_emails_on():
    from devstack.soak import waiting_for_a_redrive

    class Sqs:
        def __init__(self, counts: dict[str, tuple[int, int, int]]) -> None:
            self.counts = counts

        def get_queue_attributes(self, **request: Any) -> dict:
            counts = self.counts[request["QueueUrl"]]
            return {"Attributes": {name: str(n) for name, n in zip(request["AttributeNames"], counts, strict=True)}}

    def judge(queue: tuple[int, int, int], dlq: tuple[int, int, int]) -> bool:
        return waiting_for_a_redrive(Sqs({"q": queue, "dlq": dlq}), "q", "dlq")

    assert judge((0, 0, 0), (2, 0, 0))
    assert not judge((0, 0, 0), (0, 0, 0))  # nothing dead-lettered: settled or still on its way
    assert not judge((1, 0, 0), (2, 0, 0))  # visible work left
    assert not judge((0, 3, 0), (2, 0, 0))  # in flight, or waiting out a backoff
    assert not judge((0, 0, 1), (2, 0, 0))  # delayed
