"""The team's dashboard (GET /admin) in headless Chromium, on a running local stack."""

from __future__ import annotations

import json
import uuid

import pytest

from devstack.provision import stage_environment
from tests.support.accessibility import blocking, violations
from tests.support.browser import screenshot
from tests.support.dashboard import admin_get, dashboard_url, expect, publish_request, sign_in
from tests.support.stack import dead_lettered_after, post_lead

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

STATUS_TIMEOUT_MS = 20_000
# A request that fails until the fault is lifted: 3 receives with back-off (2 s, 4 s, 8 s) then the DLQ.
DEAD_LETTER_TIMEOUT_MS = 90_000
REFRESH_MS = 1000


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}@example.com"


def test_signing_in_shows_a_new_lead_whose_statuses_turn_delivered(stack, page):
    sign_in(page, stack)
    expect()(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    name = f"Live {uuid.uuid4().hex[:6]}"
    address = unique("live")

    post_lead(stack, name=name, email=address)

    row = page.locator("#lead-rows tr", has_text=name)
    expect()(row).to_have_count(1, timeout=STATUS_TIMEOUT_MS)
    expect()(row).to_contain_text(address)
    expect()(row.locator(".badge", has_text="team alert: delivered")).to_have_count(1, timeout=STATUS_TIMEOUT_MS)
    expect()(row.locator(".badge", has_text="confirmation: delivered")).to_have_count(1, timeout=STATUS_TIMEOUT_MS)
    screenshot(page, "dashboard-leads")

    row.get_by_role("link", name=name).click()
    expect()(page.get_by_role("heading", name=name)).to_be_focused()
    timeline = page.locator('.notification[data-kind="customer_confirmation"] .timeline li')
    expect()(timeline).to_have_count(3, timeout=STATUS_TIMEOUT_MS)
    assert [t.split()[0] for t in timeline.all_inner_texts()] == ["queued", "sent", "delivered"]
    screenshot(page, "dashboard-lead", full_page=True)


def tab_to(page, locator, limit: int = 60) -> None:
    """Press Tab until `locator` has the focus, as a keyboard user would reach it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"not reachable with Tab in {limit} presses: {locator}")


def test_the_keyboard_alone_signs_in_and_opens_a_lead(stack, page):
    name = f"Keys {uuid.uuid4().hex[:6]}"
    post_lead(stack, name=name, email=unique("keys"))
    page.goto(dashboard_url(stack))
    tab_to(page, page.get_by_label("Admin token"))
    page.keyboard.type(stack.config.admin_token)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("navigation", name="Dashboard sections")).to_be_visible()
    link = page.locator("#lead-rows tr", has_text=name).get_by_role("link", name=name)
    expect()(link).to_have_count(1, timeout=STATUS_TIMEOUT_MS)
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name=name)).to_be_focused()


def test_a_wrong_token_gets_a_clear_message_and_shows_nothing(stack, page):
    sign_in(page, stack, token="not-the-token")
    expect()(page.get_by_role("alert")).to_contain_text("That token was not accepted")
    expect()(page.get_by_role("navigation", name="Dashboard sections")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    screenshot(page, "dashboard-wrong-token")
    assert blocking(violations(page)) == []


def test_the_token_lives_in_this_tab_only_reload_keeps_it_a_new_tab_does_not(stack, page, browser_context):
    sign_in(page, stack)
    assert "local-admin-token" not in page.url
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    page.reload()
    expect()(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    other = browser_context.new_page()
    try:
        other.goto(dashboard_url(stack))
        expect()(other.get_by_label("Admin token")).to_be_visible()
        expect()(other.get_by_role("navigation", name="Dashboard sections")).to_be_hidden()
    finally:
        other.close()
    page.get_by_role("button", name="Sign out").click()
    expect()(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect()(page.get_by_label("Admin token")).to_be_visible()


HOSTILE_NAME = '<img src=x onerror="window.pwned=1;document.title=\'pwned\'">'
HOSTILE_MESSAGE = "<script>window.pwned=2</script><b>bold?</b>"


def test_hostile_fields_show_as_text_and_run_nothing(stack, page, mail):
    lead_id = post_lead(stack, name=HOSTILE_NAME, message=HOSTILE_MESSAGE)
    mail.wait(count=2, lead_id=lead_id)
    sign_in(page, stack, fragment=f"#/leads/{lead_id}")  # the mail viewer's deep link

    expect()(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    expect()(page.locator(".facts dd", has_text="<script>")).to_have_text(HOSTILE_MESSAGE)
    page.get_by_role("link", name="← All leads").click()
    expect()(page.locator("#lead-rows tr", has_text=HOSTILE_NAME)).to_have_count(1)
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.title() == "leadflow dashboard"
    screenshot(page, "dashboard-hostile")


def test_a_bounced_address_is_listed_under_suppressions_and_can_be_removed(stack, page, mail):
    address = "bounce@simulator.amazonses.com"  # the local SES bounces it, as SES's simulator does
    lead_id = post_lead(stack, email=address)
    mail.wait(to=address, status="bounced")
    sign_in(page, stack, fragment=f"#/leads/{lead_id}")
    expect()(page.locator('.notification[data-kind="customer_confirmation"] h3 .badge')).to_have_text("bounced")

    page.get_by_role("link", name="Suppressions").click()
    row = page.locator("#suppression-rows tr", has_text=address)
    expect()(row).to_have_count(1)
    expect()(row).to_contain_text("bounce Permanent")
    screenshot(page, "dashboard-suppressions")
    assert blocking(violations(page)) == []

    row.get_by_role("button", name=f"Remove {address}…").click()
    row.get_by_role("button", name="Remove from the list").click()
    expect()(page.get_by_role("status").filter(has_text="Give a reason")).to_be_visible()  # a reason is required
    row.get_by_label(f"Why may {address} be mailed again?").fill("Mailbox fixed; the customer confirmed")
    row.get_by_role("button", name="Remove from the list").click()
    expect()(page.get_by_text(f"{address} was removed from the suppression list.")).to_be_visible()
    expect()(page.locator("#suppression-rows tr", has_text=address)).to_have_count(0)
    assert admin_get(stack, "/suppressions?q=bounce%40simulator.amazonses.com")["items"] == []


def test_a_poisoned_notification_is_listed_and_redriving_after_the_fix_sends_one_email(stack, page, mail):
    recipient = unique("buyer")
    # SES refuses every send without taking it (throttled): the controlled fault. (A 5xx would not
    # do: SES may have taken the message, so the worker holds it for SES's feedback instead.)
    stack.env["LEADFLOW_FAULTS"] = json.dumps({"ses_throttle": 1})
    stack.restart_runtime()
    try:
        with dead_lettered_after(stack, stage_environment(stack.config.stage)["NOTIFICATIONS_QUEUE"], receives=1):
            publish_request(stack, "order_confirmation", recipient, {"order_id": "A-1", "customer_name": "Bea"})
            sign_in(page, stack, fragment="#/dead-letters")
            section = page.locator("#dlq-notifications")
            message = section.locator("tbody tr", has_text="notification.request")
            deadline_reload(page, message)
    finally:
        stack.env.pop("LEADFLOW_FAULTS")
        stack.restart_runtime()  # the fix: SES answers again
    expect()(message).to_contain_text("the worker failed it (received")
    screenshot(page, "dashboard-dead-letters", full_page=True)
    assert blocking(violations(page)) == []
    assert mail.messages(to=recipient) == []

    message.get_by_role("button", name="Redrive").click()
    expect()(page.locator("#dl-status")).to_have_text("1 redriven")
    [sent] = mail.wait(to=recipient, status="delivered")
    assert sent["kind"] == "order_confirmation"
    expect()(section.locator("tbody tr", has_text="notification.request")).to_have_count(0)
    assert len(mail.messages(to=recipient)) == 1
    stream = page.locator("#dlq-lead-stream")
    expect()(stream).to_contain_text('make dlq ARGS="redrive --all --queue lead-stream --stage local"')


def deadline_reload(page, locator) -> None:
    """The dead-letters view is drawn on demand: refresh it (each second, as a waiting operator
    might) until the message is there."""
    for _ in range(DEAD_LETTER_TIMEOUT_MS // REFRESH_MS):
        try:
            expect()(locator).to_have_count(1, timeout=REFRESH_MS)
            return
        except AssertionError:
            page.get_by_role("button", name="Refresh").click()
    expect()(locator).to_have_count(1)


def test_erasing_a_lead_leaves_a_tombstone(stack, page, mail):
    name = f"Forget {uuid.uuid4().hex[:6]}"
    address = unique("forget")
    lead_id = post_lead(stack, name=name, email=address, phone="+44 20 7946 0000")
    mail.wait(count=2, lead_id=lead_id, status="delivered")
    sign_in(page, stack, fragment=f"#/leads/{lead_id}")
    expect()(page.get_by_role("heading", name=name)).to_be_visible()

    page.get_by_role("button", name="Erase this lead…").click()
    confirm = page.get_by_role("button", name="Yes, erase this lead")
    expect()(confirm).to_be_focused()
    screenshot(page, "dashboard-erase-confirm")
    confirm.click()

    expect()(page.get_by_role("heading", name="Erased lead")).to_be_visible()
    expect()(page.locator(".tombstone")).to_be_visible()
    for gone in (name, address, "+44 20 7946 0000"):
        expect()(page.locator("main")).not_to_contain_text(gone)
    expect()(page.locator(".notification .badge").first).to_have_text("delivered")  # statuses stay
    screenshot(page, "dashboard-tombstone", full_page=True)
    assert admin_get(stack, f"/leads/{lead_id}")["status"] == "erased"


def test_search_filters_health_and_every_view_pass_the_accessibility_check(stack, page, mail):
    address = unique("findme")
    lead_id = post_lead(stack, email=address, source="fair")
    mail.wait(count=2, lead_id=lead_id, status="delivered")
    sign_in(page, stack)
    assert blocking(violations(page)) == []

    page.get_by_label("Email address (exact)").fill(address)
    page.get_by_role("button", name="Search").click()
    expect()(page.locator("#lead-rows tr")).to_have_count(1)
    expect()(page.locator("#lead-rows tr")).to_contain_text("fair")
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Source").fill("fair")
    page.get_by_label("Delivery status").select_option("delivered")
    page.get_by_role("button", name="Search").click()
    expect()(page.locator("#lead-rows tr", has_text=address)).to_have_count(1)
    page.get_by_role("button", name="Clear").click()

    page.goto(dashboard_url(stack, f"#/leads/{lead_id}"))
    expect()(page.locator(".notification")).to_have_count(2)
    assert blocking(violations(page)) == []

    page.get_by_role("link", name="Health").click()
    expect()(page.get_by_role("heading", name="Last 24 hours")).to_be_visible()
    expect()(page.get_by_role("img", name="Emails by status, the last 24 hours and the last 7 days")).to_be_visible()
    assert int(page.locator('#w-24h + .facts dt:text-is("Delivered") + dd').inner_text()) >= 2
    screenshot(page, "dashboard-health", full_page=True)
    assert blocking(violations(page)) == []

    page.get_by_role("link", name="Dead letters").click()
    expect()(page.locator("#dlq-notifications")).to_be_visible()
    assert blocking(violations(page)) == []
