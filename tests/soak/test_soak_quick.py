"""The quick soak profile: a few dozen leads through the whole local stack
with every kind of fault on, then a full reconciliation (`make soak` runs 500)."""

from __future__ import annotations

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
