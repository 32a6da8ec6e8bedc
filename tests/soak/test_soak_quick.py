"""The quick soak profile: a few dozen leads through the whole local stack
with every kind of fault on, then a full reconciliation (`make soak` runs 500)."""

from __future__ import annotations

import pytest

from devstack.soak import DEFAULT_FAULTS, run_soak

pytestmark = pytest.mark.e2e

QUICK_FAULTS = {**DEFAULT_FAULTS, "crash_before_send": 0.02, "crash_after_send": 0.02, "seed": 11}


def test_quick_soak_loses_nothing_and_duplicates_nothing():
    report = run_soak(leads=30, rate=10, faults=QUICK_FAULTS, settle_timeout=45)
    print(report.table())
    assert report.duplicates == []
    assert report.lost == []
    assert report.leads_without_outcome == set()
    assert sum(report.outcomes.values()) == report.expected == 60
