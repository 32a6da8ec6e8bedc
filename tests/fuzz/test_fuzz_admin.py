"""Property-based fuzzing of the admin routes: GET /leads, GET and DELETE /leads/{id}.

Properties: never a 5xx; no Authorization header is a 401, any header that
is not `Bearer <the admin token>` a 403, and neither reveals or changes a
lead; with the token, the answer is the one the spec gives (200 for a lead
that exists, 404 for one that does not, 400 for a bad limit or cursor) and
every 4xx the app writes has the documented error shape.

The 401/403 bodies come from the gateway, not the function (see
chalicelib/auth.py: the deploy maps them with Gateway Responses; `chalice
local` has its own), so only their status is checked here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.aws import ADMIN_TOKEN
from tests.support.fuzz import checks, strategies
from tests.support.fuzz.harness import FuzzApi, json_body
from tests.support.fuzz.profile import fuzz_settings

SEED_LEADS = 4

authorizations = st.one_of(
    st.none(),
    st.sampled_from(
        [
            f"Bearer {ADMIN_TOKEN}", f"bearer {ADMIN_TOKEN}", f"BEARER   {ADMIN_TOKEN}  ", f"Bearer {ADMIN_TOKEN}x",
            f"Bearer {ADMIN_TOKEN[:-1]}", f"Bearer {ADMIN_TOKEN} {ADMIN_TOKEN}", ADMIN_TOKEN, f"Basic {ADMIN_TOKEN}",
            "Bearer", "Bearer ", "Bearer null", "Bearer undefined", "Bearer local-admin-token", "Token abc",
            f"Bearer {ADMIN_TOKEN.upper()}", f"Bearer\t{ADMIN_TOKEN}", "Bearer " + "A" * 5000,
        ]
    ),
    strategies.header_values.map(lambda value: "Bearer " + value),
    strategies.header_values,
)


def is_admin(authorization: str | None) -> bool:
    """`Bearer <token>`: scheme case-insensitive, surrounding blanks ignored."""
    if authorization is None:
        return False
    scheme, _, token = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and token.strip() == ADMIN_TOKEN


def unauthorized_statuses(authorization: str | None) -> set[int]:
    if authorization is None:
        return {401}
    if not authorization.strip():
        return {401, 403}  # an empty identity source: the gateway may treat it as missing
    return {403}


@pytest.fixture(scope="module")
def seeded(fuzz_api: FuzzApi) -> list[str]:
    """A few stored leads for the admin routes to find, erase and protect."""
    ids = []
    for n in range(SEED_LEADS):
        body = {"name": f"Seed {n}", "email": f"seed{n}@example.com", "phone": "+1 555 0100", "message": "<b>hi</b>"}
        ids.append(checks.assert_created_shape(checks.post_lead(fuzz_api, json.dumps(body).encode())))
    return ids


def admin_headers(authorization: str | None, extra: dict[str, str]) -> dict[str, str]:
    headers = dict(extra)
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def lead_ids(seeded: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(seeded),
        st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
        st.text(min_size=1, max_size=80).map(lambda text: quote(text, safe="")),
        st.sampled_from(["..", "%2e%2e", "null", "0", "A" * 32, seeded[0].upper(), seeded[0] + "0", "%00"]),
    )


def assert_unauthorized(response: Any, authorization: str | None, seeded: list[str]) -> None:
    assert response.status_code in unauthorized_statuses(authorization), (authorization, response.status_code)
    text = response.body.decode("utf-8", "replace")
    assert not any(lead_id in text for lead_id in seeded), text[:300]
    assert "example.com" not in text and '"items"' not in text, text[:300]


def assert_app_error(response: Any, statuses: set[int]) -> None:
    assert response.status_code in statuses, (response.status_code, statuses, response.body[:300])
    if response.status_code >= 400:
        checks.assert_error_shape(response)


@fuzz_settings(0.05)
@given(data=st.data(), authorization=authorizations, extra=strategies.odd_headers)
def test_get_one_lead(fuzz_api, seeded, data, authorization, extra):
    lead_id = data.draw(lead_ids(seeded), label="lead_id")
    response = fuzz_api.request("GET", f"/leads/{lead_id}", admin_headers(authorization, extra))
    checks.assert_no_server_error(response)
    if not is_admin(authorization):
        assert_unauthorized(response, authorization, seeded)
        return
    assert_app_error(response, {200} if lead_id in seeded else {404})
    if response.status_code == 200:
        body = json_body(response)
        assert body["id"] == lead_id and isinstance(body["notifications"], list), body


# A URL cannot carry a lone surrogate: leave those to the body fuzzing.
url_text = strategies.any_text.map(lambda text: text.encode("utf-8", "replace").decode("utf-8"))
limits = st.one_of(
    st.none(), st.integers(-5, 130).map(str),
    st.sampled_from(["", "1e2", "10.0", " 5", "5 ", "+5", "٣", "３", "²", "0x10", "05", "9" * 400]),
    url_text,
)
cursors = st.one_of(
    st.none(), st.just(""), url_text, st.binary(max_size=80).map(lambda b: b.hex()),
    st.sampled_from(["eyJjIjoiMjAyNi0wMS0wMVQwMDowMDowMC4wMDBaIiwiaSI6IngifQ", "e30", "W10", "=" * 8, "A" * 300]),
)


def limit_is_valid(limit: str | None) -> bool:
    return limit is None or limit == "" or (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 100)


@fuzz_settings(0.05)
@given(authorization=authorizations, limit=limits, cursor=cursors, extra=strategies.odd_headers)
def test_list_leads(fuzz_api, seeded, authorization, limit, cursor, extra):
    params = {name: value for name, value in (("limit", limit), ("cursor", cursor)) if value is not None}
    path = "/leads" + ("?" + urlencode(params) if params else "")
    response = fuzz_api.request("GET", path, admin_headers(authorization, extra))
    checks.assert_no_server_error(response)
    if not is_admin(authorization):
        assert_unauthorized(response, authorization, seeded)
        return
    if not limit_is_valid(limit):
        expected = {400}
    elif cursor:
        expected = {200, 400}  # only cursors this API returned are valid; a random one may decode
    else:
        expected = {200}
    assert_app_error(response, expected)
    if response.status_code == 200 and not cursor:
        items = json_body(response)["items"]
        assert 1 <= len(items) <= int(limit or 20), json_body(response)  # the seeded leads exist


@fuzz_settings(0.05)
@given(data=st.data(), authorization=authorizations, extra=strategies.odd_headers)
def test_delete_lead(fuzz_api, seeded, data, authorization, extra):
    lead_id = data.draw(lead_ids(seeded), label="lead_id")
    before = fuzz_api.get_lead(lead_id) if lead_id in seeded else None
    response = fuzz_api.request("DELETE", f"/leads/{lead_id}", admin_headers(authorization, extra))
    checks.assert_no_server_error(response)
    if not is_admin(authorization):
        assert_unauthorized(response, authorization, seeded)
        if before is not None:
            assert fuzz_api.get_lead(lead_id) == before
        return
    assert_app_error(response, {200} if lead_id in seeded else {404})
    if response.status_code == 200:
        stored = fuzz_api.get_lead(lead_id)
        assert stored is not None and stored["status"] == "erased" and "email" not in stored, stored
        forget_keys_of(fuzz_api, lead_id)


def forget_keys_of(api: FuzzApi, lead_id: str) -> None:
    """Erasure drops the lead's idempotency records; the fuzzer's registry follows."""
    for key in [key for key, (_, stored_id) in api.keys.items() if stored_id == lead_id]:
        del api.keys[key]
