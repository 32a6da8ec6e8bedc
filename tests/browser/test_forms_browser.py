"""The README's website forms in headless Chromium, on a running local stack.

A test site (tests/support/site.py) serves the README's plain and enhanced forms
from its own loopback port, so its origin is not the API's: http://127.0.0.1:<port>
is allowed by the local stage, the same pages on http://127.0.0.2:<port> are not.
Every lead that should exist is checked in the Leads table (once) and in the
outbox (team alert and confirmation, through the mail viewer's API).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from devstack.stack import LocalStack
from tests.support.browser import screenshot
from tests.support.mailviewer import MailViewer
from tests.support.site import Site, foreign_hosts, serving_site
from tests.support.stack import leads_from, local_stack, viewer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MAIL_TIMEOUT = 30


@pytest.fixture(scope="module")
def api_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-log") / "stack.log"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, browser_context, api_log: Path) -> Iterator[LocalStack]:
    # browser_context first: without a browser the module is skipped before a stack is started.
    with local_stack(tmp_path_factory.mktemp("outbox"), log_path=api_log) as running:
        yield running


@pytest.fixture(scope="module")
def mail(stack: LocalStack) -> MailViewer:
    return viewer(stack)


@pytest.fixture(scope="module")
def site(stack: LocalStack) -> Iterator[Site]:
    with serving_site(stack.config.api_url) as serving:
        yield serving


@pytest.fixture(scope="module")
def foreign_site(stack: LocalStack) -> Iterator[Site]:
    # Another loopback address: another origin, which the local stage does not allow.
    with ExitStack() as cleanup:
        for host in foreign_hosts():
            try:
                serving = cleanup.enter_context(serving_site(stack.config.api_url, host=host))
                break
            except OSError:
                continue
        else:
            pytest.fail(f"none of {foreign_hosts()} can be bound here, for a second origin")
        yield serving


@pytest.fixture
def no_script_page(browser_context) -> Iterator[Any]:
    """A page with JavaScript off, as a context with java_script_enabled=False has it: Playwright
    turns that option into this DevTools call, here on a page of the shared persistent context."""
    opened = browser_context.new_page()
    devtools = browser_context.new_cdp_session(opened)
    devtools.send("Emulation.setScriptExecutionDisabled", {"value": True})
    yield opened
    opened.close()


def expect():  # imported late: playwright is only needed once a browser is there
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def person() -> tuple[str, str]:
    unique = uuid.uuid4().hex[:8]
    return f"Ada {unique}", f"ada.{unique}@example.com"


def fill(page: Any, name: str, email: str, message: str = "Please call me back.") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Message").fill(message)


def assert_one_lead_and_both_emails(stack: LocalStack, mail: MailViewer, email: str) -> dict[str, Any]:
    leads = leads_from(stack, email)
    assert len(leads) == 1, leads
    lead = leads[0]
    messages = mail.wait(count=2, timeout=MAIL_TIMEOUT, lead_id=lead["id"])
    assert sorted(m["kind"] for m in messages) == ["customer_confirmation", "team_alert"], messages
    assert email in [r for m in messages for r in m["recipients"]]
    return lead


def assert_no_script_ran(page: Any) -> None:
    # The enhanced form's script would have added a status region on submit; none ran.
    assert page.evaluate("1 + 1") == 2  # DevTools still evaluates; the page's own scripts do not
    assert page.locator("[data-leadflow-status][role=status]").count() == 0


# --- JavaScript on: the enhanced form ------------------------------------------------------


def test_enhanced_form_shows_success_and_stores_one_lead(stack, site, mail, page):
    page.goto(site.url + "/enhanced.html")
    expect()(page.locator("[name=_gotcha]")).to_be_hidden()  # even under the site's `input {display: block}`
    screenshot(page, "forms-enhanced-empty")
    name, email = person()
    fill(page, name, email)
    with page.expect_response(lambda r: r.url.endswith("/leads") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send").dblclick()  # a double click is still one lead
    assert answer.value.status == 201
    sent = answer.value.request.headers
    assert sent["content-type"] == "application/json" and sent["idempotency-key"].startswith("lf-")
    status = page.locator("[data-leadflow-status]")
    expect()(status).to_have_text("Thanks! We will reply within a day.")
    expect()(status).to_have_attribute("role", "status")
    expect()(page.get_by_role("button", name="Send")).to_be_enabled()
    expect()(page.get_by_label("Name")).to_have_value("")  # the form is reset
    assert page.url == site.url + "/enhanced.html"  # no navigation
    screenshot(page, "forms-enhanced-success")
    lead = assert_one_lead_and_both_emails(stack, mail, email)
    assert lead["name"] == name and lead["message"] == "Please call me back."


def test_cors_preflight_from_an_allowed_origin_succeeds(stack, site, page, api_log):
    page.goto(site.url + "/enhanced.html")
    fill(page, *person())
    with page.expect_response(lambda r: r.url.endswith("/leads") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send").click()
    # JSON with an Idempotency-Key is not a simple request: Chromium asked first, and was let through.
    assert answer.value.status == 201
    assert answer.value.headers["access-control-allow-origin"] == site.origin
    assert '"OPTIONS /leads HTTP/1.1" 204' in api_log.read_text(errors="replace")


def test_enhanced_form_shows_each_field_error_next_to_its_input(stack, site, page):
    page.goto(site.url + "/enhanced.html")
    _, email = person()
    # What the browser's own checks let through and the API's rules do not.
    fill(page, "   ", email.replace("@example.com", "@localhost"))
    page.get_by_role("button", name="Send").click()
    name_error = page.locator("#lf-name + .leadflow-error")
    email_error = page.locator("#lf-email + .leadflow-error")
    expect()(name_error).to_have_text("must be 1-200 characters after trimming")
    expect()(email_error).to_have_text("must be a valid email address of at most 254 characters")
    expect()(page.locator("#lf-message + .leadflow-error")).to_have_count(0)
    for field, error in (("#lf-name", name_error), ("#lf-email", email_error)):
        expect()(page.locator(field)).to_have_attribute("aria-invalid", "true")
        expect()(page.locator(field)).to_have_attribute("aria-describedby", error.get_attribute("id") or "")
    expect()(page.locator("#lf-name")).to_be_focused()
    expect()(page.locator("[data-leadflow-status]")).to_have_text("Please correct the marked fields.")
    screenshot(page, "forms-enhanced-errors")
    assert leads_from(stack, email) == [] and leads_from(stack, email.replace("@example.com", "@localhost")) == []

    # Corrected and sent again: the errors go, the lead is stored.
    page.get_by_label("Name").fill("Ada Corrected")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send").click()
    expect()(page.locator("[data-leadflow-status]")).to_have_text("Thanks! We will reply within a day.")
    expect()(page.locator(".leadflow-error")).to_have_count(0)
    expect()(page.locator("#lf-name")).not_to_have_attribute("aria-invalid", "true")
    assert len(leads_from(stack, email)) == 1


def test_enhanced_form_follows_a_next_on_its_own_site(stack, site, mail, page):
    page.goto(site.url + "/next.html")
    _, email = person()
    fill(page, "Ada Next", email)
    page.get_by_role("button", name="Send").click()
    expect()(page).to_have_url(site.url + "/thanks.html")
    assert_one_lead_and_both_emails(stack, mail, email)


# --- JavaScript off: the plain form ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/plain.html", "/enhanced.html"])
def test_without_javascript_the_form_lands_on_the_thank_you_page(stack, site, mail, no_script_page, path):
    page = no_script_page
    page.goto(site.url + path)
    expect()(page.locator("[name=_gotcha]")).to_be_hidden()
    screenshot(page, f"forms-no-script{path.replace('.html', '')}")
    name, email = person()
    fill(page, name, email, "Line one\nline two")
    page.get_by_role("button", name="Send").click()
    # A cross-site post's Referer is the site's origin only (the browsers' default Referrer-Policy).
    expect()(page).to_have_url(stack.config.api_url + "/thanks?" + urlencode({"back": site.url + "/"}))
    expect()(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect()(page.get_by_role("link", name="Back to the site")).to_have_attribute("href", site.url + "/")
    assert_no_script_ran(page)
    screenshot(page, "forms-thanks-page")
    lead = assert_one_lead_and_both_emails(stack, mail, email)
    assert lead["message"] == "Line one\nline two"
    page.go_back()  # the Back button returns to the form; posting again is the same lead
    page.reload()
    assert len(leads_from(stack, email)) == 1


def test_without_javascript_the_same_form_twice_is_one_lead(stack, site, mail, no_script_page):
    page = no_script_page
    _, email = person()
    for _ in range(2):
        page.goto(site.url + "/plain.html")
        fill(page, "Ada Twice", email)
        page.get_by_role("button", name="Send").click()
        expect()(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert_one_lead_and_both_emails(stack, mail, email)
    assert len(mail.messages(lead_id=leads_from(stack, email)[0]["id"])) == 2  # no second email either


def test_without_javascript_invalid_input_gets_the_error_page(stack, site, no_script_page):
    page = no_script_page
    page.goto(site.url + "/plain.html")
    fill(page, "   ", "ada@localhost")
    page.get_by_label("Company (optional)").fill("<b>Acme</b>")
    page.get_by_role("button", name="Send").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Please check the form")
    problems = page.locator(".problems li")
    expect()(problems).to_have_count(2)
    expect()(problems.nth(0)).to_have_text("Name: must be 1-200 characters after trimming")
    expect()(problems.nth(1)).to_have_text("Email: must be a valid email address of at most 254 characters")
    expect()(page.get_by_role("link", name="Back to the form")).to_have_attribute("href", site.url + "/")
    screenshot(page, "forms-error-page")
    assert leads_from(stack, "ada@localhost") == []


# --- a page on an origin the stage does not allow ----------------------------------------


def test_a_disallowed_origin_cannot_create_a_lead(stack, foreign_site, mail, page, no_script_page):
    _, scripted = person()
    page.goto(foreign_site.url + "/enhanced.html")
    fill(page, "Ada Foreign", scripted)
    page.get_by_role("button", name="Send").click()
    # The preflight is refused, so the fetch fails in the browser: the script says so.
    expect()(page.locator("[data-leadflow-status]")).to_have_text(
        "Your message could not be sent. Check your connection.")
    screenshot(page, "forms-foreign-enhanced")

    _, plain = person()
    no_script_page.goto(foreign_site.url + "/plain.html")
    fill(no_script_page, "Ada Foreign", plain)
    no_script_page.get_by_role("button", name="Send").click()
    expect()(no_script_page.get_by_role("heading", level=1)).to_have_text("This form cannot be sent from this site")
    screenshot(no_script_page, "forms-foreign-plain")

    for email in (scripted, plain):
        assert leads_from(stack, email) == []
        assert mail.messages(to=email) == []
