"""Website forms on POST /leads: both form encodings, extra fields as metadata, JSON or
pages by negotiation, thank-you redirects (never open), Origin enforcement, double
submits, CAPTCHA; and the pages and script the app serves for them."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from tests.support.aws import reset_app_caches
from tests.support.forms import (
    BROWSER_ACCEPT,
    URLENCODED,
    multipart,
    post_form,
    post_multipart,
    text,
    unique_lead,
    urlencoded,
)

SITE = "http://localhost:3000"  # allowed by the local stage (http://localhost:*)


def stored(env: dict[str, str]) -> list[dict[str, Any]]:
    from chalicelib.store.items import from_item

    return [from_item(item) for item in boto3.client("dynamodb").scan(TableName=env["LEADS_TABLE"])["Items"]]


def only_lead(env: dict[str, str]) -> dict[str, Any]:
    leads = stored(env)
    assert len(leads) == 1, leads
    return leads[0]


def assert_page(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, text(response)[:300])
    assert response.headers["Content-Type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    page = text(response)
    assert '<link rel="stylesheet" href="pages.css">' in page  # relative: the stage prefix is kept
    return page


# --- both encodings, the same rules ---------------------------------------------------


def test_urlencoded_form_is_stored_like_json(api_client, local_aws):
    fields = unique_lead(phone="+44 20 7946 0000", message="Hello", source="contact_page")
    response = post_form(api_client, fields, browser=False)
    assert response.status_code == 201
    lead = only_lead(local_aws)
    assert response.json_body == {"id": lead["id"], "status": "received"}
    assert {k: lead[k] for k in fields} == fields


def test_multipart_form_is_stored_like_json(api_client, local_aws):
    fields = unique_lead(message="Grüße, Ада ✓")
    response = post_multipart(api_client, fields, browser=False)
    assert response.status_code == 201, response.json_body
    assert only_lead(local_aws)["message"] == "Grüße, Ада ✓"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_form_line_breaks_are_stored_as_in_json(api_client, local_aws, encoding):
    fields = unique_lead(message="line one\r\nline two\r\n")
    post = post_form if encoding == "urlencoded" else post_multipart
    assert post(api_client, fields, browser=False).status_code == 201
    assert only_lead(local_aws)["message"] == "line one\nline two\n"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_same_rules_apply_to_forms(api_client, local_aws, encoding):
    post = post_form if encoding == "urlencoded" else post_multipart
    response = post(api_client, {"name": " ", "email": "not-an-address", "phone": "call me"}, browser=False)
    assert response.status_code == 400
    assert {d["field"] for d in response.json_body["details"]} == {"name", "email", "phone"}
    assert stored(local_aws) == []


def test_blank_optional_inputs_count_as_absent(api_client, local_aws):
    assert post_form(api_client, unique_lead(phone="", message="", _gotcha=""), browser=False).status_code == 201
    lead = only_lead(local_aws)
    assert "phone" not in lead and "message" not in lead


def test_a_file_part_is_refused_and_nothing_is_stored(api_client, local_aws):
    response = post_multipart(api_client, unique_lead(), {"cv": ("cv.pdf", b"%PDF-\x00\xff")}, browser=False)
    assert response.status_code == 400
    refused = {"field": "cv", "message": "files are not accepted: send text fields only"}
    assert response.json_body["details"] == [refused]
    assert stored(local_aws) == []


@pytest.mark.parametrize(
    "body",
    [b"name=Ada&email", b"name=%ff&email=a%40example.com", b"name=Ada&&email=a%40example.com", b"\xff=1"],
)
def test_malformed_urlencoded_is_400(api_client, local_aws, body):
    response = post_form(api_client, {}, body=body, browser=False)
    assert response.status_code == 400
    assert response.json_body["error"] == "malformed_form"
    assert stored(local_aws) == []


def test_malformed_multipart_is_400(api_client, local_aws):
    content_type, body = multipart(unique_lead())
    for broken_type, broken in ((content_type, body[:-20]), ("multipart/form-data", body), (content_type, b"x")):
        response = post_form(api_client, {}, content_type=broken_type, body=broken, browser=False)
        assert response.status_code == 400, broken_type
        assert response.json_body["error"] == "malformed_form"
    assert stored(local_aws) == []


def test_a_documented_field_sent_twice_is_invalid(api_client, local_aws):
    fields = [*unique_lead().items(), ("email", "other@example.com")]
    response = post_form(api_client, fields, browser=False)
    assert response.status_code == 400
    assert response.json_body["details"] == [{"field": "email", "message": "must be sent once"}]


# --- extra fields are metadata ----------------------------------------------------------


def test_extra_fields_and_metadata_brackets_become_metadata(api_client, local_aws):
    fields = [*unique_lead().items(), ("company", "Acme"), ("metadata[budget]", "10k"), ("interest", "forms"),
              ("interest", "email"), ("empty", "")]
    assert post_form(api_client, fields, browser=False).status_code == 201
    assert only_lead(local_aws)["metadata"] == {"company": "Acme", "budget": "10k", "interest": "forms, email"}


def test_next_captcha_and_charset_fields_are_not_metadata(api_client, local_aws):
    fields = unique_lead(_next=SITE + "/thanks", _charset_="UTF-8", **{"cf-turnstile-response": "x"})
    assert post_form(api_client, fields, browser=False).status_code == 201
    assert "metadata" not in only_lead(local_aws)


def test_metadata_limits_apply_to_form_fields(api_client, local_aws):
    many = [(f"field{i}", "v") for i in range(21)]
    response = post_form(api_client, [*unique_lead().items(), *many], browser=False)
    assert response.status_code == 400
    assert response.json_body["details"] == [{"field": "metadata", "message": "must have at most 20 keys"}]
    long_value = post_form(api_client, unique_lead(company="c" * 501), browser=False)
    assert [d["field"] for d in long_value.json_body["details"]] == ["metadata.company"]
    plain = post_form(api_client, unique_lead(metadata="x"), browser=False)
    assert [d["field"] for d in plain.json_body["details"]] == ["metadata"]
    assert stored(local_aws) == []


def test_twenty_extra_fields_are_within_the_limits(api_client, local_aws):
    many = [(f"field{i}", "v" * 500) for i in range(20)]
    assert post_form(api_client, [*unique_lead().items(), *many], browser=False).status_code == 201


def test_a_form_of_5000_cyrillic_characters_fits(api_client, local_aws):
    # 60 KB percent-encoded: more than the JSON limit (16 KiB), within the form limit (64 KiB).
    body = urlencoded(unique_lead(message="ж" * 5000))
    assert 16 * 1024 < len(body) < 64 * 1024
    assert post_form(api_client, {}, body=body, browser=False).status_code == 201


def test_a_form_over_64_kib_is_413_json_or_page(api_client, local_aws):
    body = urlencoded(unique_lead(message="m" * (64 * 1024)))
    assert post_form(api_client, {}, body=body, browser=False).status_code == 413
    assert "too long" in assert_page(post_form(api_client, {}, body=body), 413)
    assert stored(local_aws) == []


# --- negotiation: JSON for programs, pages for browsers --------------------------------------


def test_json_stays_json_even_from_a_browser(api_client, local_aws):
    response = api_client.http.post(
        "/leads", headers={"Content-Type": "application/json", "Accept": BROWSER_ACCEPT},
        body=json.dumps(unique_lead()).encode(),
    )
    assert response.status_code == 201
    assert response.json_body["status"] == "received"


def test_same_invalid_form_json_or_html(api_client, local_aws):
    fields = {"name": "", "email": "nope", "phone": "?"}
    as_json = post_form(api_client, fields, browser=False)
    assert as_json.status_code == 400
    assert as_json.headers["Content-Type"] == "application/json"
    page = assert_page(post_form(api_client, fields), 400)
    for detail in as_json.json_body["details"]:
        assert detail["message"] in page
    assert [label for label in ("Name", "Email", "Phone") if f'<span class="field">{label}:</span>' in page] == [
        "Name", "Email", "Phone"]
    assert stored(local_aws) == []


def test_error_page_escapes_every_value(api_client, local_aws):
    hostile = "<script>alert(1)</script>" + "k" * 60  # a metadata key over 64 characters
    page = assert_page(post_form(api_client, [*unique_lead().items(), (hostile, "v")]), 400)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_error_page_links_back_to_an_allowed_form_only(api_client, local_aws):
    invalid = {"name": "", "email": "nope"}
    back = assert_page(post_form(api_client, invalid, headers={"Origin": SITE, "Referer": SITE + "/contact"}), 400)
    assert f'href="{SITE}/contact"' in back
    foreign_referer = {"Origin": SITE, "Referer": "https://evil.example/contact"}
    assert f'href="{SITE}/"' in assert_page(post_form(api_client, invalid, headers=foreign_referer), 400)
    assert "Back to the form</a>" not in assert_page(post_form(api_client, invalid), 400)


def test_rate_limit_is_a_page_with_retry_after(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_MAX", "1")
    reset_app_caches()
    assert post_form(api_client, unique_lead()).status_code == 303
    limited = post_form(api_client, unique_lead())
    page = assert_page(limited, 429)
    # A limit of one on a sliding window over two fixed ones: up to two windows.
    assert 1 <= int(limited.headers["Retry-After"]) <= 2 * 600
    assert "Too many messages" in page and "Try again in" in page
    assert len(stored(local_aws)) == 1


def test_unsupported_type_is_a_page_for_a_browser_and_json_for_others(api_client, local_aws):
    browser = api_client.http.post("/leads", headers={"Content-Type": "text/plain", "Accept": BROWSER_ACCEPT},
                                   body=b"name=Ada")
    assert "encoding" in assert_page(browser, 415)
    program = api_client.http.post("/leads", headers={"Content-Type": "text/plain"}, body=b"name=Ada")
    assert program.status_code == 415
    assert program.json_body["error"] == "unsupported_media_type"


# --- thank-you redirects ------------------------------------------------------------------


def location(response: Any) -> str:
    assert response.status_code == 303, (response.status_code, text(response)[:300])
    assert response.body in ("", b"")
    return str(response.headers["Location"])


def test_success_redirects_to_the_built_in_thank_you_page(api_client, local_aws):
    assert location(post_form(api_client, unique_lead())) == "thanks"
    back = location(post_form(api_client, unique_lead(), headers={"Origin": SITE, "Referer": SITE + "/contact"}))
    assert urlsplit(back).path == "thanks"
    assert parse_qs(urlsplit(back).query) == {"back": [SITE + "/contact"]}
    assert len(stored(local_aws)) == 2


@pytest.mark.parametrize(
    ("next_url", "origin", "expected"),
    [
        (SITE + "/thanks.html?x=1#top", None, SITE + "/thanks.html?x=1#top"),
        ("http://127.0.0.1:8080/done", SITE, "http://127.0.0.1:8080/done"),
        ("/thanks.html", SITE, SITE + "/thanks.html"),
    ],
)
def test_next_on_an_allowed_origin_is_followed(api_client, local_aws, next_url, origin, expected):
    headers = {"Origin": origin} if origin else {}
    assert location(post_form(api_client, unique_lead(_next=next_url), headers=headers)) == expected


REFUSED_NEXT = [
    "https://evil.example/thanks",
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    "//evil.example/thanks",
    "/\\evil.example/thanks",
    "\\\\evil.example",
    "/\t/evil.example",
    "http://localhost:3000@evil.example/",
    "http://localhost.evil.example:3000/",
    "https://localhost:3000/",  # another scheme is another origin
    "data:text/html,<script>alert(1)</script>",
    "http:evil.example",
    "/thanks.html",  # relative, but no Origin to read it against
    "http://localhost:3000/\r\nSet-Cookie: x=1",
]


@pytest.mark.parametrize("next_url", REFUSED_NEXT)
def test_a_refused_next_falls_back_and_never_leaves(api_client, local_aws, next_url):
    assert location(post_form(api_client, unique_lead(_next=next_url))) == "thanks"
    if next_url != "/thanks.html":  # from an allowed page, a relative _next is on that page's site
        from_site = post_form(api_client, unique_lead(_next=next_url), headers={"Origin": SITE})
        assert urlsplit(location(from_site)).path == "thanks"
    assert len(stored(local_aws)) in (1, 2)  # the lead itself is fine


def test_relative_next_needs_an_allowed_origin(api_client, local_aws):
    # A foreign Origin is refused outright (403) before any redirect is chosen.
    refused = post_form(api_client, unique_lead(_next="/thanks.html"), headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "Location" not in refused.headers


def test_thank_you_url_is_the_fallback_when_set(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("THANK_YOU_URL", "https://www.example.com/thank-you")
    reset_app_caches()
    assert location(post_form(api_client, unique_lead())) == "https://www.example.com/thank-you"
    assert location(post_form(api_client, unique_lead(_next="https://evil.example/"))) == (
        "https://www.example.com/thank-you")
    assert location(post_form(api_client, unique_lead(_next=SITE + "/ok"))) == SITE + "/ok"


def test_honeypot_form_lands_on_the_thank_you_page_and_stores_nothing(api_client, local_aws):
    assert location(post_form(api_client, unique_lead(_gotcha="bot", _next=SITE + "/ok"))) == SITE + "/ok"
    assert stored(local_aws) == []


def test_thanks_page(api_client, local_aws):
    page = assert_page(api_client.http.get("/thanks"), 200)
    assert "Your message has been sent" in page and "Back to the site" not in page
    linked = assert_page(api_client.http.get(f"/thanks?back={SITE}/contact"), 200)
    assert f'href="{SITE}/contact"' in linked
    for foreign in ("https://evil.example/", "javascript:alert(1)", "//evil.example"):
        assert "Back to the site" not in assert_page(api_client.http.get(f"/thanks?back={foreign}"), 200)


# --- Origin -------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.:3000", "HTTP://LOCALHOST:3000",
                                    "http://localhost:3000/", "https://localhost:3000", ""])
def test_a_foreign_origin_is_403_and_stores_nothing(api_client, local_aws, origin):
    as_json = api_client.http.post("/leads", headers={"Content-Type": "application/json", "Origin": origin},
                                   body=json.dumps(unique_lead()).encode())
    assert as_json.status_code == 403
    assert as_json.json_body == {"error": "origin_not_allowed", "message": "this origin may not call the API"}
    assert "Access-Control-Allow-Origin" not in as_json.headers
    page = assert_page(post_form(api_client, unique_lead(), headers={"Origin": origin}), 403)
    assert "not allowed" in page
    honeypot = post_form(api_client, unique_lead(_gotcha="x"), headers={"Origin": origin})
    assert honeypot.status_code == 403
    assert stored(local_aws) == []


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:8765", "http://localhost"])
def test_local_stage_allows_any_local_port(api_client, local_aws, origin):
    response = post_form(api_client, unique_lead(), browser=False, headers={"Origin": origin})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == origin
    preflight = api_client.http.request("OPTIONS", "/leads", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key,captcha-token"})
    assert preflight.status_code == 204
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower().split(",")
    assert {"content-type", "idempotency-key", "captcha-token"} <= set(allowed)


def test_an_exact_origin_list_allows_only_its_entries(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://www.example.com")
    reset_app_caches()
    ok = post_form(api_client, unique_lead(), browser=False, headers={"Origin": "https://www.example.com"})
    assert ok.status_code == 201
    for other in ("https://www.example.com:8443", "http://www.example.com", "http://localhost:3000"):
        assert post_form(api_client, unique_lead(), browser=False, headers={"Origin": other}).status_code == 403
    assert len(stored(local_aws)) == 1


# --- double submit -------------------------------------------------------------------------


def test_the_same_form_twice_is_one_lead_with_the_same_answer(api_client, local_aws):
    fields = unique_lead(message="Call me", _next=SITE + "/thanks")
    first, again = post_form(api_client, fields), post_form(api_client, fields)
    assert location(first) == location(again) == SITE + "/thanks"
    as_json = [post_form(api_client, fields, browser=False) for _ in range(2)]
    lead = only_lead(local_aws)
    assert [r.json_body["id"] for r in as_json] == [lead["id"], lead["id"]]


def test_a_different_body_or_client_is_a_new_lead(api_client, local_aws):
    from chalicelib.api import leads as leads_api

    fields = unique_lead()
    post_form(api_client, fields)
    post_form(api_client, {**fields, "message": "one more thing"})
    headers = {"content-type": URLENCODED, "accept": "application/json"}
    other = leads_api.create_lead(headers, urlencoded(fields), "198.51.100.9")
    assert other.status_code == 201
    assert len(stored(local_aws)) == 3


def test_the_same_form_after_the_window_is_a_new_lead(api_client, local_aws, monkeypatch):
    from chalicelib.core import clock

    fields = unique_lead()
    post_form(api_client, fields)
    real = clock.now_epoch
    # 61 s later, for the twin lookup and for the write's expiry condition.
    for module in ("chalicelib.store.repeats", "chalicelib.store.idempotency"):
        monkeypatch.setattr(f"{module}.now_epoch", lambda: real() + 61)
    post_form(api_client, fields)
    assert len(stored(local_aws)) == 2


def test_json_without_a_key_is_not_deduplicated(api_client, local_aws):
    # JSON clients say what they mean with Idempotency-Key; their answers stay as they were.
    body = json.dumps(unique_lead()).encode()
    for _ in range(2):
        response = api_client.http.post("/leads", headers={"Content-Type": "application/json"}, body=body)
        assert response.status_code == 201
    assert len(stored(local_aws)) == 2


def test_a_concurrent_twin_gets_the_first_leads_id(local_aws):
    from chalicelib.store import leads
    from chalicelib.store.repeats import RepeatGuard

    first = leads.store_lead({"name": "A", "email": "a@example.com"}, None, "f1", RepeatGuard("c", "f1"))
    # The twin saw no record (it checked before the first committed) and loses the race.
    twin = leads.store_lead({"name": "A", "email": "a@example.com"}, None, "f1", RepeatGuard("c", "f1"))
    assert twin == first
    assert len(stored(local_aws)) == 1


def test_erasure_forgets_the_double_submit_record(api_client, local_aws):
    from chalicelib.store import idempotency

    post_form(api_client, unique_lead())
    lead = only_lead(local_aws)
    assert idempotency.forget_lead(lead["id"]) == 1


# --- CAPTCHA ---------------------------------------------------------------------------------


@pytest.fixture
def turnstile(local_aws, monkeypatch):
    from devstack.captcha import DEFAULT_SECRET, serving

    with serving() as url:
        for name, value in {"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SECRET": DEFAULT_SECRET,
                            "CAPTCHA_VERIFY_URL": url}.items():
            monkeypatch.setenv(name, value)
        reset_app_caches()
        yield url
    reset_app_caches()


def test_captcha_pass_stores_the_lead(api_client, local_aws, turnstile):
    assert location(post_form(api_client, unique_lead(**{"cf-turnstile-response": "pass-1"}))) == "thanks"
    as_json = api_client.http.post("/leads", headers={"Content-Type": "application/json", "Captcha-Token": "pass-2"},
                                   body=json.dumps(unique_lead()).encode())
    assert as_json.status_code == 201
    assert len(stored(local_aws)) == 2


def test_captcha_failure_looks_like_success_stores_nothing_and_logs_why(api_client, local_aws, turnstile, app_logs):
    fields = unique_lead(_next=SITE + "/ok", **{"cf-turnstile-response": "a-bot-token"})
    assert location(post_form(api_client, fields)) == SITE + "/ok"
    as_json = post_form(api_client, fields, browser=False)
    assert as_json.status_code == 201 and as_json.json_body["status"] == "received"
    assert stored(local_aws) == []
    lines = [line for line in app_logs.lines if "captcha failed" in line]
    assert lines and all("invalid-input-response" in line for line in lines)
    assert not any(fields["email"] in line or "a-bot-token" in line for line in app_logs.lines)


def test_a_missing_captcha_token_is_a_field_error(api_client, local_aws, turnstile):
    response = post_form(api_client, unique_lead(), browser=False)
    assert response.status_code == 400
    assert response.json_body["details"] == [{"field": "captcha", "message": "is required: complete the CAPTCHA check"}]
    assert "Spam check" in assert_page(post_form(api_client, unique_lead()), 400)
    assert stored(local_aws) == []


@pytest.mark.parametrize("how", ["provider 503", "connection refused", "timeout", "wrong secret", "not json"])
def test_a_captcha_outage_is_503_and_stores_nothing(api_client, local_aws, turnstile, monkeypatch, app_logs, how):
    import socket
    import threading

    token = "pass-1"
    if how == "provider 503":
        token = "outage"
    elif how == "connection refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        monkeypatch.setenv("CAPTCHA_VERIFY_URL", f"http://127.0.0.1:{port}/siteverify")
    elif how in ("timeout", "not json"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        done = threading.Event()

        def serve() -> None:
            connection, _ = listener.accept()
            if how == "not json":
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<html>hi<")
            done.wait(5)  # "timeout": answer nothing until the client has given up
            connection.close()

        threading.Thread(target=serve, daemon=True).start()
        monkeypatch.setenv("CAPTCHA_VERIFY_URL", f"http://127.0.0.1:{listener.getsockname()[1]}/siteverify")
        monkeypatch.setenv("CAPTCHA_TIMEOUT_SECONDS", "0.3")
    elif how == "wrong secret":
        monkeypatch.setenv("CAPTCHA_SECRET", "not-the-secret")
    reset_app_caches()
    try:
        response = post_form(api_client, unique_lead(**{"cf-turnstile-response": token}), browser=False)
        assert response.status_code == 503
        assert response.json_body["error"] == "captcha_unavailable"
        page = assert_page(post_form(api_client, unique_lead(**{"cf-turnstile-response": token})), 503)
        assert "try again" in page.lower()
    finally:
        if how in ("timeout", "not json"):
            done.set()
            listener.close()
    assert stored(local_aws) == []
    assert any("captcha unavailable" in line for line in app_logs.lines)


def test_a_repeat_is_answered_before_the_captcha_is_asked_again(api_client, local_aws, turnstile):
    # Tokens are single-use: the double submit must find the first lead, not a failed check.
    fields = unique_lead(**{"cf-turnstile-response": "pass-once"})
    first = post_form(api_client, fields, browser=False)
    again = post_form(api_client, fields, browser=False)
    assert first.json_body == again.json_body
    assert len(stored(local_aws)) == 1


def test_captcha_verdicts_from_provider_answers():
    from chalicelib.api.captcha import judge
    from chalicelib.core.states import CaptchaVerdict

    assert judge({"success": True}, 0.5)[0] is CaptchaVerdict.PASSED
    assert judge({"success": True, "score": 0.9}, 0.5)[0] is CaptchaVerdict.PASSED
    assert judge({"success": True, "score": 0.1}, 0.5)[0] is CaptchaVerdict.FAILED
    assert judge({"success": False, "error-codes": ["timeout-or-duplicate"]}, 0.5)[0] is CaptchaVerdict.FAILED
    assert judge({"success": False, "error-codes": ["invalid-input-secret"]}, 0.5)[0] is CaptchaVerdict.UNAVAILABLE
    assert judge({"success": False, "error-codes": ["sitekey-secret-mismatch"]}, 0.5)[0] is CaptchaVerdict.UNAVAILABLE
    assert judge({"success": "yes"}, 0.5)[0] is CaptchaVerdict.UNAVAILABLE
    assert judge(["success"], 0.5)[0] is CaptchaVerdict.UNAVAILABLE


def test_an_unknown_captcha_provider_is_a_configuration_error(monkeypatch):
    from chalicelib.core.settings import get_settings

    monkeypatch.setenv("CAPTCHA_PROVIDER", "funcaptcha")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="CAPTCHA_PROVIDER"):
        get_settings()
    get_settings.cache_clear()


# --- the API Gateway event shape ----------------------------------------------------------


def gateway_event(body: bytes, headers: dict[str, str], encoded: bool) -> dict[str, Any]:
    return {
        "resource": "/leads", "path": "/leads", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/leads", "httpMethod": "POST", "stage": "api", "path": "/api/leads",
                           "identity": {"sourceIp": "203.0.113.10"}},
        "body": base64.b64encode(body).decode() if encoded else body.decode(),
        "isBase64Encoded": encoded,
    }


@pytest.mark.parametrize("encoded", [False, True])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_forms_through_the_lambda_event_as_api_gateway_sends_them(local_aws, encoded, encoding):
    """API Gateway passes a text body as is, or base64-encoded when the stage's binary
    media types cover it; Chalice's raw_body decodes the latter."""
    import app as app_module

    fields = unique_lead(message="héllo\r\nthere")
    if encoding == "multipart":
        content_type, body = multipart(fields)
    else:
        content_type, body = URLENCODED, urlencoded(fields)
    headers = {"Content-Type": content_type, "Accept": BROWSER_ACCEPT, "Origin": SITE}
    answer = app_module.app(gateway_event(body, headers, encoded), None)
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "thanks?back=" + "http%3A%2F%2Flocalhost%3A3000%2F"
    assert answer.get("isBase64Encoded") is not True
    assert only_lead(local_aws)["message"] == "héllo\nthere"


def test_the_packaged_api_keeps_form_bodies_as_text():
    """The deployed API's binary media types (Chalice's defaults): form types are not among
    them, so API Gateway hands their bodies over as text; */* would make every body base64."""
    import app as app_module

    binary = app_module.app.api.binary_types
    assert not {"*/*", URLENCODED, "multipart/form-data"} & set(binary)


# --- pages and the script ---------------------------------------------------------------------


def test_embed_script_is_small_cached_and_versioned(api_client, local_aws):
    plain = api_client.http.get("/embed.js")
    assert plain.status_code == 200
    assert plain.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert len(plain.body) < 6 * 1024
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    canonical = re.fullmatch(r'<embed\.js\?v=([0-9a-f]{12})>; rel="canonical"', plain.headers["Link"])
    assert canonical
    version = canonical.group(1)
    assert plain.headers["ETag"] == f'"{version}"'
    pinned = api_client.http.get(f"/embed.js?v={version}")
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert pinned.body == plain.body
    stale = api_client.http.get("/embed.js?v=000000000000")
    assert stale.headers["Cache-Control"] == "public, max-age=300"
    not_modified = api_client.http.get("/embed.js", headers={"If-None-Match": f'"{version}"'})
    assert not_modified.status_code == 304 and not not_modified.body


def test_embed_script_never_writes_html():
    from chalicelib.api.pages import static_file

    script = static_file("embed.js").text
    assert "innerHTML" not in script and "outerHTML" not in script and "eval(" not in script
    assert "textContent" in script


def test_page_styles_are_served(api_client, local_aws):
    response = api_client.http.get("/pages.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert ".card" in text(response)
