"""Website forms over HTTP on the local stack (`chalice local`), with the stage requiring a
CAPTCHA checked by the fake verifier the stack starts (LEADFLOW_CAPTCHA for `make run`)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack.stack import LocalStack
from tests.support.forms import BROWSER_ACCEPT, JSON_ACCEPT, URLENCODED, multipart, unique_lead, urlencoded
from tests.support.mailviewer import MailViewer
from tests.support.stack import leads_from, local_stack, viewer

pytestmark = pytest.mark.e2e

SITE = "http://localhost:4321"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory.mktemp("outbox"), captcha="turnstile", with_viewer=True) as running:
        yield running


@pytest.fixture(scope="module")
def mail(stack: LocalStack) -> MailViewer:
    return viewer(stack)


def send(stack: LocalStack, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    """One request, redirects not followed (http.client, unlike urllib, never follows them)."""
    parts = urlsplit(stack.config.api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")  # type: ignore[attr-defined]
        return response
    finally:
        connection.close()


def post_form(stack: LocalStack, fields: dict[str, str], browser: bool = True) -> Any:
    headers = {"Content-Type": URLENCODED, "Accept": BROWSER_ACCEPT if browser else JSON_ACCEPT, "Origin": SITE}
    return send(stack, "POST", "/leads", urlencoded(fields), headers)


def test_a_passing_token_stores_the_lead_and_sends_both_emails(stack, mail):
    fields = unique_lead(**{"cf-turnstile-response": "pass-e2e", "_next": SITE + "/thanks"})
    response = post_form(stack, fields)
    assert response.status == 303
    assert response.getheader("Location") == SITE + "/thanks"
    [lead] = leads_from(stack, fields["email"])
    assert len(mail.wait(count=2, lead_id=lead["id"], timeout=30)) == 2


def test_a_refused_token_looks_like_success_and_stores_nothing(stack, mail):
    fields = unique_lead(**{"cf-turnstile-response": "bot"})
    response = post_form(stack, fields)
    assert response.status == 303
    assert response.getheader("Location").startswith("thanks")
    assert leads_from(stack, fields["email"]) == []
    assert mail.messages(to=fields["email"]) == []


def test_an_outage_is_a_503_page_and_stores_nothing(stack):
    fields = unique_lead(**{"cf-turnstile-response": "outage"})
    response = post_form(stack, fields)
    assert response.status == 503
    assert response.getheader("Content-Type").startswith("text/html")
    assert "Please try again in a moment" in response.text
    assert json.loads(post_form(stack, fields, browser=False).text)["error"] == "captcha_unavailable"
    assert leads_from(stack, fields["email"]) == []


def test_without_a_token_the_form_is_refused(stack):
    response = post_form(stack, unique_lead(), browser=False)
    assert response.status == 400
    assert json.loads(response.text)["details"] == [
        {"field": "captcha", "message": "is required: complete the CAPTCHA check"}]


def test_multipart_and_the_captcha_header_through_chalice_local(stack):
    fields = unique_lead(message="Grüße\r\nAda", **{"cf-turnstile-response": "pass-multipart"})
    content_type, body = multipart(fields)
    response = send(stack, "POST", "/leads", body, {"Content-Type": content_type, "Accept": JSON_ACCEPT})
    assert response.status == 201, response.text
    assert leads_from(stack, fields["email"])[0]["message"] == "Grüße\nAda"
    as_json = unique_lead()
    response = send(stack, "POST", "/leads", json.dumps(as_json).encode(),
                    {"Content-Type": "application/json", "Captcha-Token": "pass-json"})
    assert response.status == 201
    assert len(leads_from(stack, as_json["email"])) == 1


def test_pages_and_script_through_chalice_local(stack):
    script = send(stack, "GET", "/embed.js")
    assert script.status == 200
    assert script.getheader("Content-Type") == "text/javascript; charset=utf-8"
    assert "data-leadflow" in script.text
    thanks = send(stack, "GET", "/thanks")
    assert thanks.status == 200 and "Thank you" in thanks.text
    assert "default-src 'none'" in thanks.getheader("Content-Security-Policy")
    assert send(stack, "GET", "/pages.css").status == 200
