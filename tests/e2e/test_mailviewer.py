"""The mail viewer's JSON API on a running local stack: listing, filters, one message, raw, wait, feedback."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from devstack.provision import local_client
from devstack.ses_outbox import DELAY_ENV
from devstack.stack import LocalStack
from tests.support.aws import stage_env
from tests.support.mailviewer import MailViewer
from tests.support.runtime import wait_until
from tests.support.stack import local_stack, post_lead, viewer

pytestmark = pytest.mark.e2e


# The emulator's own Delivery event for each send is held back past the module's end, so every
# status change here comes from the viewer's feedback buttons.
HELD_BACK_SECONDS = "3600"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(DELAY_ENV, HELD_BACK_SECONDS)
        started = local_stack(tmp_path_factory.mktemp("outbox"))
        running = started.__enter__()
    try:
        yield running
    finally:
        started.__exit__(None, None, None)


@pytest.fixture(scope="module")
def mail(stack: LocalStack) -> MailViewer:
    return viewer(stack)


def lead_emails(stack: LocalStack, mail: MailViewer, **fields: str) -> tuple[str, dict, dict]:
    """Post a lead; (lead id, its team alert, its customer confirmation) once both are filed."""
    lead_id = post_lead(stack, **fields)
    found = {m["kind"]: m for m in mail.wait(count=2, lead_id=lead_id)}
    return lead_id, found["team_alert"], found["customer_confirmation"]


def is_suppressed(stack: LocalStack, address: str) -> bool:
    dynamodb = local_client("dynamodb", stack.config.aws_endpoint)
    found = dynamodb.get_item(TableName=stage_env()["SUPPRESSION_TABLE"], Key={"address": {"S": address.lower()}},
                              ConsistentRead=True)
    return "Item" in found


def send_raw(stack: LocalStack, message: EmailMessage, configuration_set: str | None = None) -> str:
    """Straight through the emulator's SES, as another system would; the SES message id."""
    kwargs = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    return str(local_client("sesv2", stack.config.aws_endpoint).send_email(
        FromEmailAddress=str(message["From"]), Destination={"ToAddresses": [str(message["To"])]},
        Content={"Raw": {"Data": message.as_bytes()}}, **kwargs,
    )["MessageId"])


def test_lists_newest_first_with_ledger_status_and_filters(stack, mail):
    before = dt.datetime.now(dt.UTC).isoformat()
    address = f"ada.{uuid.uuid4().hex[:8]}@example.com"
    lead_id, alert, confirmation = lead_emails(stack, mail, email=address, name="Ada Filters")

    assert confirmation["to"] == [address] and alert["to"] == ["team@leadflow.example"]
    assert confirmation["lead_id"] == lead_id and alert["subject"] == "New lead: Ada Filters"
    assert alert["size"] > 0 and alert["from"].endswith("<alerts@leadflow.example>")
    listed = mail.messages()
    assert [m["sent_at"] for m in listed] == sorted((m["sent_at"] for m in listed), reverse=True)
    assert mail.wait(to=address, status="sent")[0]["status"] == "sent"  # recorded by the worker

    assert [m["id"] for m in mail.messages(to=address)] == [confirmation["id"]]
    assert [m["id"] for m in mail.messages(subject="new lead: ada filters")] == [alert["id"]]
    assert [m["id"] for m in mail.messages(kind="team_alert", lead_id=lead_id)] == [alert["id"]]
    assert [m["id"] for m in mail.messages(q=address)] == [confirmation["id"]]
    assert confirmation["id"] in [m["id"] for m in mail.messages(**{"from": "hello@leadflow.example"})]
    assert {m["id"] for m in mail.messages(since=before, lead_id=lead_id)} == {alert["id"], confirmation["id"]}
    assert mail.messages(since=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()) == []
    bad = mail.call("GET", "/api/messages", since="yesterday")
    assert bad.status == 400 and bad.body["error"] == "bad_request"


def test_one_message_raw_download_and_sandboxed_html(stack, mail):
    lead_id, alert, _ = lead_emails(stack, mail, name="Bea <b>Bold</b>")
    found = mail.message(alert["id"])

    headers = dict(found["headers"])
    assert headers["Message-ID"] == f"<{alert['id']}@email.amazonses.com>"
    assert "Date" in headers and headers["Subject"] == "New lead: Bea <b>Bold</b>"
    assert lead_id in found["text"] and "Bea &lt;b&gt;Bold&lt;/b&gt;" in found["html"]
    assert found["status"] in ("sent", "delivered") and found["deliveries"][0]["kind"] == "team_alert"
    assert found["tags"]["lead_id"] == lead_id and found["configuration_set"] == stage_env()["SES_CONFIGURATION_SET"]
    assert found["dashboard_url"] == f"{stack.config.api_url}/admin#/leads/{lead_id}"  # the dashboard's deep link

    [filed] = Path(stack.config.outbox).glob(f"*-{alert['id']}.eml")
    assert mail.raw(alert["id"]) == filed.read_bytes()
    download = mail.call("GET", f"/api/messages/{alert['id']}/raw", download="1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{filed.name}"'
    assert download.headers["Content-Type"] == "message/rfc822"

    html = mail.call("GET", f"/api/messages/{alert['id']}/html")
    csp = html.headers["Content-Security-Policy"]
    assert html.status == 200 and "Bea &lt;b&gt;Bold" in html.body
    assert csp.startswith("sandbox;") and "script-src" not in csp and "default-src 'none'" in csp
    assert "img-src data: cid:;" in csp
    assert "https:" in mail.call("GET", f"/api/messages/{alert['id']}/html", images="1").headers[
        "Content-Security-Policy"]
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert mail.call("GET", "/api/messages/no-such-message").status == 404


def test_wait_returns_when_the_message_arrives_and_times_out_with_408(stack, mail):
    name = f"Wait {uuid.uuid4().hex[:8]}"
    waited: dict[str, object] = {}
    waiting = threading.Thread(target=lambda: waited.update(found=mail.wait(subject=f"New lead: {name}", timeout=30)))
    waiting.start()
    post_lead(stack, name=name)
    waiting.join(timeout=60)
    assert [m["subject"] for m in waited["found"]] == [f"New lead: {name}"]  # type: ignore[union-attr]

    late = mail.call("GET", "/api/wait", subject="no such subject anywhere", timeout="0.5")
    assert late.status == 408 and late.body["error"] == "timeout" and late.body["messages"] == []
    assert mail.call("GET", "/api/wait", count="0").status == 400


def test_delivery_then_bounce_move_the_status_and_the_bounce_suppresses_the_address(stack, mail):
    address = f"bounce.me.{uuid.uuid4().hex[:8]}@example.com"
    _, _, confirmation = lead_emails(stack, mail, email=address)
    mail.wait(to=address, status="sent")

    delivered = mail.feedback(confirmation["id"], "delivery")
    assert delivered.status == 202 and delivered.body["event"]["delivery"]["recipients"] == [address]
    mail.wait(to=address, status="delivered")
    assert not is_suppressed(stack, address)

    answer = mail.feedback(confirmation["id"], "bounce", "permanent")
    assert answer.status == 202, answer.body
    event = answer.body["event"]
    assert event["eventType"] == "Bounce" and event["bounce"]["bounceType"] == "Permanent"
    assert event["mail"]["messageId"] == confirmation["id"]
    assert event["mail"]["tags"]["kind"] == ["customer_confirmation"]
    assert answer.body["topics"][0].endswith(":" + stage_env()["SES_FEEDBACK_TOPIC"])

    [bounced] = mail.wait(to=address, status="bounced")
    assert bounced["reason"].startswith("bounce Permanent")
    assert is_suppressed(stack, address)


def test_transient_bounce_notes_why_and_keeps_the_status_and_a_complaint_suppresses(stack, mail):
    address = f"full.{uuid.uuid4().hex[:8]}@example.com"
    _, _, confirmation = lead_emails(stack, mail, email=address)
    mail.wait(to=address, status="sent")

    answer = mail.feedback(confirmation["id"], "bounce", "transient")
    event = answer.body["event"]
    assert answer.status == 202 and event["bounce"]["bounceType"] == "Transient"
    assert event["bounce"]["bouncedRecipients"][0]["status"].startswith("4.")
    noted = wait_until(lambda: (m := mail.message(confirmation["id"]))["reason"] and m)
    assert noted["reason"].startswith("bounce Transient/MailboxFull") and noted["status"] == "sent"
    assert not is_suppressed(stack, address)

    assert mail.feedback(confirmation["id"], "complaint").status == 202
    mail.wait(to=address, status="complained")
    assert is_suppressed(stack, address)


def test_feedback_is_refused_when_ses_would_publish_none_or_the_request_is_wrong(stack, mail):
    message = EmailMessage()
    message["From"] = "alerts@leadflow.example"
    message["To"] = "someone@example.com"
    message["Subject"] = f"Raw {uuid.uuid4().hex[:8]}"
    message.set_content("hello")
    message_id = send_raw(stack, message)  # no configuration set: SES publishes no events for it
    [found] = mail.wait(subject=str(message["Subject"]))
    assert found["status"] is None and "not sent by the app" in found["status_note"]

    refused = mail.feedback(message_id, "delivery")
    assert refused.status == 409 and refused.body["error"] == "no_feedback_destination"
    assert mail.feedback(message_id, "shrug").status == 400
    assert mail.feedback("no-such-message", "delivery").status == 404


def test_changes_only_from_the_viewers_own_page(stack, mail):
    _, alert, _ = lead_emails(stack, mail)
    path = f"/api/messages/{alert['id']}/feedback"
    cross = mail.call("POST", path, {"type": "delivery"}, headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    assert mail.call("POST", path, {"type": "delivery"}, headers={"Sec-Fetch-Site": "cross-site"}).status == 403
    assert mail.call("POST", path, {"type": "delivery"}, headers={"Content-Type": "text/plain"}).status == 415
    assert mail.call("DELETE", "/api/messages", headers={"Origin": "http://evil.example"}).status == 403
    assert mail.call("GET", "/api/messages", headers={"Host": "evil.example"}).status == 421
    page = mail.call("GET", "/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["X-Content-Type-Options"] == "nosniff"


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the IPv4 sockets listening on `port` (Linux /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_the_viewer_is_not_reachable_on_other_addresses(stack):
    port = stack.config.mail_port
    assert listening_addresses(port) == {"127.0.0.1"}
    # Another loopback address of this machine: a server bound to every address would answer here.
    with socket.socket() as other, pytest.raises(ConnectionRefusedError):
        other.settimeout(5)
        other.connect(("127.0.0.2", port))


def test_clear_outbox_removes_every_message_and_its_envelope(stack, mail):
    lead_emails(stack, mail)
    answer = mail.call("DELETE", "/api/messages")
    assert answer.status == 200 and answer.body["removed"] >= 2
    assert mail.messages() == []
    assert not list(Path(stack.config.outbox).rglob("*.eml")) and not list(Path(stack.config.outbox).rglob("*.json"))

