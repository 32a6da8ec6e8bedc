"""The mail viewer in headless Chromium, on a running local stack."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage

import pytest

from devstack.provision import local_client
from devstack.stack import LocalStack
from tests.support.browser import screenshot
from tests.support.stack import post_lead

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

STATUS_TIMEOUT_MS = 20_000


def expect():  # imported late: playwright is only needed once a browser is there
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def open_viewer(page, stack: LocalStack, fragment: str = "") -> None:
    page.goto(stack.config.mail_url + "/" + fragment)
    expect()(page.locator("#live")).to_have_attribute("data-state", "live")


def test_a_new_leads_two_emails_appear_without_a_reload(stack, page):
    open_viewer(page, stack)
    page.evaluate("window.sameDocument = true")
    name = f"Live {uuid.uuid4().hex[:6]}"
    address = f"live.{uuid.uuid4().hex[:6]}@example.com"

    post_lead(stack, name=name, email=address)

    expect()(page.locator("#rows tr", has_text=f"New lead: {name}")).to_have_count(1)
    expect()(page.locator("#rows tr", has_text=f"To {address}")).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    screenshot(page, "mailviewer-list")


def test_opening_an_email_shows_its_rendered_html_its_text_headers_and_source(stack, page, mail):
    name = f"Read {uuid.uuid4().hex[:6]}"
    lead_id = post_lead(stack, name=name)
    mail.wait(count=2, lead_id=lead_id)
    open_viewer(page, stack)

    page.get_by_role("link", name=f"New lead: {name}").click()
    expect()(page.locator("#subject")).to_have_text(f"New lead: {name}")
    expect()(page.locator("#subject")).to_be_focused()
    frame = page.frame_locator("#frame")
    expect()(frame.locator("td", has_text=name)).to_be_visible()  # an element of the rendered HTML
    expect()(page.locator("#facts")).to_contain_text(lead_id)
    screenshot(page, "mailviewer-html")

    page.get_by_role("tab", name="Text").click()
    expect()(page.locator("#text")).to_contain_text(lead_id)
    expect()(page.locator("#frame")).to_be_hidden()
    screenshot(page, "mailviewer-text")
    page.get_by_role("tab", name="Text").press("ArrowRight")  # the tabs follow the arrow keys
    expect()(page.get_by_role("tab", name="Headers")).to_be_focused()
    expect()(page.locator("#headers")).to_contain_text("Message-ID")
    page.get_by_role("tab", name="Raw source").click()
    expect()(page.locator("#raw")).to_contain_text("Content-Type: multipart/alternative")
    assert page.get_by_role("link", name="Download .eml").get_attribute("href").endswith("/raw?download=1")


SCRIPTED_HTML = """<p id="shown">Hello from a hostile email</p>
<script>
  document.body.setAttribute("data-ran", "inline");
  try { parent.document.body.setAttribute("data-pwned", "yes"); } catch (e) {}
  try { top.pwned = true; } catch (e) {}
</script>
<img src="missing.png" onerror="document.body.setAttribute('data-ran', 'handler'); parent.pwned = true">
<form action="/api/messages" method="post"><button id="go" type="submit">Send</button></form>
"""


def test_an_emails_script_runs_nowhere(stack, page, mail):
    message = EmailMessage()
    message["From"] = "alerts@leadflow.example"
    message["To"] = "target@example.com"
    message["Subject"] = f"Scripted {uuid.uuid4().hex[:6]}"
    message.set_content("plain part")
    message.add_alternative(SCRIPTED_HTML, subtype="html")
    local_client("sesv2", stack.config.aws_endpoint).send_email(
        FromEmailAddress="alerts@leadflow.example", Destination={"ToAddresses": ["target@example.com"]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
    mail.wait(subject=str(message["Subject"]))
    open_viewer(page, stack)
    page.get_by_role("link", name=str(message["Subject"])).click()

    frame = page.frame_locator("#frame")
    expect()(frame.locator("#shown")).to_have_text("Hello from a hostile email")
    email_frame = page.frame(url=re.compile(r"/api/messages/.+/html"))
    assert email_frame is not None
    email_frame.wait_for_load_state("load")
    frame.locator("#go").click()  # a form in the email cannot post either
    expect()(frame.locator("#shown")).to_be_visible()

    assert frame.locator("body").get_attribute("data-ran") is None
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None
    assert page.evaluate("window.pwned") is None
    assert page.url.startswith(stack.config.mail_url)
    # Sent without a configuration set: SES would publish no feedback, so the buttons say so.
    expect()(page.get_by_role("button", name="Bounce (permanent)")).to_be_disabled()
    expect()(page.locator("#feedback-note")).to_contain_text("without a configuration set")
    screenshot(page, "mailviewer-script-email")


def test_pressing_bounce_turns_the_status_to_bounced_on_screen(stack, page, mail):
    address = f"bouncing.{uuid.uuid4().hex[:6]}@example.com"
    post_lead(stack, email=address)
    [confirmation] = mail.wait(to=address, status="delivered")
    open_viewer(page, stack, f"#/messages/{confirmation['id']}")
    status = page.locator("#facts .badge")
    expect()(status).to_have_text("delivered")

    page.get_by_role("button", name="Bounce (permanent)").click()

    expect()(status).to_have_text("bounced", timeout=STATUS_TIMEOUT_MS)
    expect()(page.locator(f'#rows tr[data-id="{confirmation["id"]}"] .badge')).to_have_text("bounced")
    expect()(page.locator("#feedback-note")).to_contain_text("SES published a Bounce (permanent) event")
    screenshot(page, "mailviewer-bounced")
