"""Fuzz budgets: a quick profile for `make test`, a long one for `make fuzz`.

LEADFLOW_FUZZ_PROFILE=long (set by `make fuzz`) selects the long profile. A
test decorated with `@fuzz_settings(share)` gets that share of the profile's
examples. The profiles are applied per test, never loaded globally, so other
hypothesis tests in the session keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("LEADFLOW_FUZZ_PROFILE", "quick")
TOTAL_EXAMPLES = {"quick": 400, "long": 12_000}[PROFILE]
# The long run must throw at least this many requests (issue 7).
LONG_RUN_MIN_REQUESTS = 10_000

_COMMON = {
    "deadline": None,  # moto timings vary; timing is not a property here
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
settings.register_profile("leadflow-fuzz", **_COMMON)


def budget(share: float) -> int:
    return max(10, round(TOTAL_EXAMPLES * share))


def fuzz_settings(share: float) -> settings:
    return settings(settings.get_profile("leadflow-fuzz"), max_examples=budget(share))
