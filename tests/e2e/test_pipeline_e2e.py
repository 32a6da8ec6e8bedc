"""POST /leads on the running local stack -> the two emails in the outbox, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from devstack.stack import LocalStack, StackConfig
from tests.support.aws import free_port
from tests.support.stack import call, viewer

pytestmark = pytest.mark.e2e

ADMIN = "e2e-admin-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    outbox = tmp_path_factory.mktemp("outbox")
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=outbox, admin_token=ADMIN)
    with LocalStack(config) as running:
        yield running



def emails_for(stack: LocalStack, lead_id: str, expected: int, timeout: float = 5.0) -> list[EmailMessage]:
    """The lead's emails, from the mail viewer, once `expected` are there or the time is up."""
    mail = viewer(stack)
    answer = mail.call("GET", "/api/wait", lead_id=lead_id, count=expected, timeout=timeout, http_timeout=timeout + 30)
    assert answer.status in (200, 408), answer.body  # 408: fewer than expected when the time was up
    return [mail.parsed(found["id"]) for found in answer.body["messages"]]


def test_a_lead_yields_exactly_two_emails_within_5_seconds(stack):
    status, body = call(stack, "POST", "/leads", {
        "name": "<script>alert(1)</script> Eve",
        "email": "eve@example.com",
        "message": "Hi\r\nBcc: evil@example.com",
        "metadata": {"plan": "<b>pro</b>\r\nBcc: evil2@example.com"},
    })
    assert status == 201
    started = time.monotonic()
    messages = emails_for(stack, body["id"], expected=2)
    assert len(messages) == 2, f"{len(messages)} emails after {time.monotonic() - started:.1f}s"
    time.sleep(1)  # and no third one turns up
    messages = emails_for(stack, body["id"], expected=3, timeout=0)
    assert len(messages) == 2
    by_to = {m["To"].addresses[0].addr_spec: m for m in messages}
    assert set(by_to) == {"team@leadflow.example", "eve@example.com"}
    alert = by_to["team@leadflow.example"]
    assert [a.addr_spec for a in alert["Reply-To"].addresses] == ["eve@example.com"]
    for message in messages:
        assert message.get_content_type() == "multipart/alternative"
        assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
        assert message["Bcc"] is None and message["Cc"] is None
        html = message.get_body(("html",)).get_content()
        assert "<script>" not in html and "<b>pro</b>" not in html
    assert "&lt;script&gt;" in alert.get_body(("html",)).get_content()
    assert "&lt;b&gt;pro&lt;/b&gt;" in alert.get_body(("html",)).get_content()


def test_the_lead_shows_its_notifications_live(stack):
    _, body = call(stack, "POST", "/leads", {"name": "Live", "email": "success@simulator.amazonses.com"})
    deadline = time.monotonic() + 10
    statuses: set[str] = set()
    while time.monotonic() < deadline and statuses != {"delivered"}:
        _, lead = call(stack, "GET", f"/leads/{body['id']}", headers={"Authorization": f"Bearer {ADMIN}"})
        statuses = {n["status"] for n in lead.get("notifications", [])}
        time.sleep(0.2)
    assert statuses == {"delivered"}


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [({}, 401, "unauthorized"), ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
     ({"Authorization": "Basic abc"}, 403, "forbidden")],
)
def test_admin_routes_refuse_without_the_token_in_the_api_error_shape(stack, headers, status, error):
    code, body = call(stack, "GET", "/leads", headers=headers, token=None)
    assert code == status
    assert body["error"] == error and body["message"]


def test_an_unknown_route_is_a_404_in_the_api_error_shape(stack):
    """What a user sees first when opening the API in a browser; AWS answers the same
    through the MISSING_AUTHENTICATION_TOKEN gateway response."""
    for method, path in (("GET", "/"), ("GET", "/nope"), ("DELETE", "/nope/1")):
        code, body = call(stack, method, path, token=None)
        assert (code, body["error"]) == (404, "not_found"), (method, path)
        assert body["message"]
