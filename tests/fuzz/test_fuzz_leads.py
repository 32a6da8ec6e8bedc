"""Property-based fuzzing of POST /leads (and of methods on the API's paths).

Properties, for every generated request: never a 5xx; the status is one the
spec allows for that input (tests/fuzz/oracle.py); every 4xx has the
documented error shape and a 400 validation_failed lists details; CORS
headers only for configured origins; nothing is stored unless the answer is
a 201 for a new lead, which is stored exactly once, as the spec normalises
it; an Idempotency-Key replay returns the first lead and stores nothing.
"""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from tests.support.fuzz import checks, strategies
from tests.support.fuzz.profile import fuzz_settings


def fresh_key() -> str:
    # Not drawn by hypothesis: it replays and shrinks values, and a key must be new here.
    return f"fuzz-{uuid.uuid4()}"


@fuzz_settings(0.20)
@given(
    raw=strategies.encoded(strategies.lead_like_bodies()),
    content_type=st.one_of(st.sampled_from(strategies.JSON_CONTENT_TYPES), strategies.content_types),
    key=strategies.idempotency_keys,
    origin=strategies.origins,
    extra=strategies.odd_headers,
)
def test_lead_like_bodies(fuzz_api, raw, content_type, key, origin, extra):
    checks.post_lead(fuzz_api, raw, content_type, key, origin, extra)


@fuzz_settings(0.15)
@given(body=strategies.one_rule_broken(), key=strategies.idempotency_keys, ascii_only=st.booleans())
def test_one_rule_broken_at_a_time(fuzz_api, body, key, ascii_only):
    raw = strategies.encode_body(body, ascii_only or strategies.has_surrogates(body))
    checks.post_lead(fuzz_api, raw, key=key)


@fuzz_settings(0.10)
@given(
    body=strategies.valid_bodies(),
    with_key=st.booleans(),
    repeats=st.integers(min_value=1, max_value=3),
)
def test_valid_leads_are_stored_exactly_once_per_request(fuzz_api, body, with_key, repeats):
    raw = json.dumps(body).encode()
    key = fresh_key() if with_key else None
    ids = [checks.assert_created_shape(checks.post_lead(fuzz_api, raw, key=key)) for _ in range(repeats)]
    # With a key every repeat is the first lead; without one, each request is a new lead.
    assert len(set(ids)) == (1 if key else repeats)


@fuzz_settings(0.15)
@given(
    raw=strategies.raw_bodies,
    content_type=st.one_of(st.just("application/json"), strategies.content_types),
    key=strategies.idempotency_keys,
)
def test_raw_and_malformed_bodies(fuzz_api, raw, content_type, key):
    checks.post_lead(fuzz_api, raw, content_type, key)


@fuzz_settings(0.10)
@given(
    body=strategies.valid_bodies(),
    content_type=strategies.content_types,
    key=strategies.idempotency_keys,
    origin=strategies.origins,
    extra=strategies.odd_headers,
)
def test_content_types_and_odd_headers(fuzz_api, body, content_type, key, origin, extra):
    checks.post_lead(fuzz_api, json.dumps(body).encode(), content_type, key, origin, extra)


@fuzz_settings(0.05)
@given(body=strategies.valid_bodies(), other=strategies.valid_bodies())
def test_same_key_other_body_is_a_conflict(fuzz_api, body, other):
    key = fresh_key()
    checks.post_lead(fuzz_api, json.dumps(body).encode(), key=key)
    # 409 unless the two bodies happen to be the same lead, or are another person's (the key's scope).
    checks.post_lead(fuzz_api, json.dumps(other).encode(), key=key)


@fuzz_settings(0.05)
@given(body=strategies.valid_bodies(), other=strategies.valid_bodies())
def test_same_key_same_person_other_body_is_a_conflict(fuzz_api, body, other):
    key = fresh_key()
    checks.post_lead(fuzz_api, json.dumps(body).encode(), key=key)
    other = {**other, "email": body["email"]}
    response = checks.post_lead(fuzz_api, json.dumps(other).encode(), key=key)
    assert response.status_code == (201 if other == body else 409)
