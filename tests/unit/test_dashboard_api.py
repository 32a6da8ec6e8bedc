"""The dashboard's routes through chalice.test.Client: the page and its assets, the new admin
routes and parameters (auth, pagination, search, filters, CSV, suppressions, dead letters,
stats, erasure by address) and the status history on each notification."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from typing import Any

import boto3
import pytest

from chalicelib.pipeline import feedback
from tests.support import ses_events
from tests.support.aws import ADMIN_TOKEN
from tests.support.tracking import audit_lines, new_message_id, record_sent

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Content-Type": "application/json"}


def post_lead(client: Any, **fields: Any) -> str:
    body = {"name": "Ada Lovelace", "email": f"ada.{uuid.uuid4().hex[:8]}@example.com", **fields}
    response = client.http.post("/leads", headers=JSON, body=json.dumps(body).encode())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def get(client: Any, path: str) -> Any:
    return client.http.get(path, headers=AUTH)


def every_page(client: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    joiner = "&" if "?" in path else "?"
    while True:
        response = get(client, path + (f"{joiner}cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.body
        items += response.json_body["items"]
        cursor = response.json_body["next_cursor"]
        if not cursor:
            return items


@pytest.fixture(scope="module")
def scans(admin_client) -> list[str]:
    """Every DynamoDB Scan the app makes in this module (none may serve a dashboard list)."""
    from chalicelib.core import aws

    seen: list[str] = []
    aws.dynamodb().meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda params, **_: seen.append(params["TableName"])
    )
    return seen


def test_the_scan_counter_sees_a_scan(admin_client, scans):
    from chalicelib.core import aws
    from chalicelib.core.settings import get_settings

    aws.dynamodb().scan(TableName=get_settings().leads_table, Limit=1)
    assert scans.pop() == get_settings().leads_table


# --- The page -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/admin", "text/html"), ("/admin/app.js", "text/javascript"), ("/admin/app.css", "text/css")],
)
def test_the_page_and_its_assets_need_no_token_and_carry_the_security_headers(admin_client, path, content_type):
    response = admin_client.http.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_holds_no_script_or_style_inline_and_uses_relative_urls(admin_client):
    html = admin_client.http.get("/admin").body.decode()
    assert '<script type="module" src="admin/app.js"></script>' in html
    assert "<style" not in html and " style=" not in html and " on" not in html.replace(" only", "")
    script = admin_client.http.get("/admin/app.js").body.decode()
    assert "innerHTML" not in script and "eval(" not in script and "localStorage" not in script
    assert "fetch(`/" not in script and "'/leads" not in script and '"/leads' not in script


# --- Authorization of every new route -----------------------------------------------------------

ADMIN_ROUTES = [
    ("get", "/leads?email=a%40example.com"), ("get", "/leads?format=csv"), ("get", "/leads.csv"),
    ("get", "/suppressions"), ("delete", "/suppressions/a%40example.com"), ("get", "/dead-letters"),
    ("post", "/dead-letters/notifications/redrive"), ("get", "/stats"), ("post", "/erasures"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_route_is_401_without_a_token_and_403_with_a_wrong_one(admin_client, method, path):
    call = getattr(admin_client.http, method)
    assert call(path).status_code == 401
    assert call(path, headers={"Authorization": "Bearer wrong"}).status_code == 403


# --- Leads: search, filters, pagination, notification badges -------------------------------------


def test_search_by_address_is_exact_and_pages_through_the_index(admin_client, scans):
    address = f"repeat.{uuid.uuid4().hex[:8]}@Example.COM"
    mine = [post_lead(admin_client, email=address) for _ in range(3)]
    post_lead(admin_client, email="other." + address)
    found = every_page(admin_client, f"/leads?limit=2&email={address.replace('@', '%40')}")
    assert [item["id"] for item in found] == list(reversed(mine))  # newest first, across pages
    assert {item["email"] for item in found} == {address.split("@")[0] + "@example.com"}
    assert get(admin_client, "/leads?email=not-an-address").status_code == 400
    assert scans == []


def test_filter_by_source_pages_through_its_index(admin_client, scans):
    source = f"fair-{uuid.uuid4().hex[:6]}"
    mine = [post_lead(admin_client, source=source) for _ in range(3)]
    post_lead(admin_client, source="website")
    found = every_page(admin_client, f"/leads?limit=2&source={source}")
    assert [item["id"] for item in found] == list(reversed(mine))
    assert get(admin_client, "/leads?source=Not Valid").status_code == 400
    assert scans == []


def test_filter_by_delivery_status_lists_the_leads_with_such_a_notification(admin_client, scans):
    bounced_lead, delivered_lead = post_lead(admin_client), post_lead(admin_client)
    bounce_id, delivery_id = new_message_id(), new_message_id()
    record_sent(bounced_lead, "customer_confirmation", "b@example.com", bounce_id)
    record_sent(delivered_lead, "customer_confirmation", "d@example.com", delivery_id)
    feedback.handle(ses_events.bounce("event", bounce_id, ["b@example.com"]))
    feedback.handle(ses_events.delivery("event", delivery_id, ["d@example.com"]))
    bounced = {item["id"]: item for item in every_page(admin_client, "/leads?status=bounced&limit=1")}
    assert bounced_lead in bounced and delivered_lead not in bounced
    assert bounced[bounced_lead]["notifications"] == [{"kind": "customer_confirmation", "status": "bounced"}]
    assert delivered_lead in {i["id"] for i in every_page(admin_client, "/leads?status=delivered")}
    assert get(admin_client, "/leads?status=sending").status_code == 400  # internal, never shown
    assert get(admin_client, "/leads?status=bounced&cursor=bm9wZQ").status_code == 400
    assert scans == []


def test_time_range_and_bad_parameters(admin_client):
    lead_id = post_lead(admin_client)
    created = get(admin_client, f"/leads/{lead_id}").json_body["created_at"]
    assert lead_id in {i["id"] for i in every_page(admin_client, f"/leads?since={created}&until={created}")}
    assert lead_id not in {i["id"] for i in every_page(admin_client, "/leads?until=2000-01-01T00:00:00.000Z")}
    response = get(admin_client, "/leads?since=yesterday&format=json")
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_failed"


# --- Lead detail: the status history -------------------------------------------------------------


def test_each_notification_carries_its_status_history(admin_client):
    lead_id = post_lead(admin_client)
    message_id = new_message_id()
    record_sent(lead_id, "customer_confirmation", "h@example.com", message_id)
    feedback.handle(ses_events.delivery("event", message_id, ["h@example.com"]))
    feedback.handle(ses_events.delivery("event", message_id, ["h@example.com"]))  # a duplicate adds nothing
    feedback.handle(ses_events.bounce("event", message_id, ["h@example.com"]))
    (notification,) = get(admin_client, f"/leads/{lead_id}").json_body["notifications"]
    steps = notification["history"]
    assert [s["status"] for s in steps] == ["queued", "sent", "delivered", "bounced"]
    assert steps[-1]["reason"].startswith("bounce Permanent/")
    assert all(s["at"].endswith("Z") for s in steps)
    assert notification["status"] == "bounced"


def test_a_suppressed_send_shows_queued_then_suppressed(admin_client):
    from chalicelib.core.states import DeliveryStatus
    from chalicelib.store import ledger, suppression
    from chalicelib.store.deliveries import DeliveryKey

    lead_id = post_lead(admin_client)
    suppression.suppress("blocked.history@example.com", "bounce Permanent/General")
    key = DeliveryKey(lead_id, "customer_confirmation", "blocked.history@example.com")
    assert ledger.record_outcome(key, DeliveryStatus.SUPPRESSED, "address is on the suppression list")
    (notification,) = get(admin_client, f"/leads/{lead_id}").json_body["notifications"]
    assert [s["status"] for s in notification["history"]] == ["queued", "suppressed"]


# --- CSV export -----------------------------------------------------------------------------------


def test_csv_export_is_parseable_and_neutralises_formulas(admin_client):
    source = f"csv-{uuid.uuid4().hex[:6]}"
    hostile = {"name": "=HYPERLINK(\"http://x\",\"y\")", "message": "@SUM(1+1)\nline two, \"quoted\"",
               "phone": "+44 20 7946 0000", "metadata": {"note": "-2+3"}}
    lead_id = post_lead(admin_client, source=source, **hostile)
    plain = post_lead(admin_client, source=source, name="Plain Name")
    for path in (f"/leads?format=csv&source={source}", f"/leads.csv?source={source}"):
        response = get(admin_client, path)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.body.decode())))
        by_id = {row["id"]: row for row in rows}
        assert set(by_id) == {lead_id, plain}
        row = by_id[lead_id]
        assert row["name"] == "'=HYPERLINK(\"http://x\",\"y\")"
        assert row["message"] == "'@SUM(1+1)\nline two, \"quoted\""
        assert row["phone"] == "'+44 20 7946 0000"
        assert json.loads(row["metadata"]) == {"note": "-2+3"}  # a JSON cell starts with {
        assert by_id[plain]["name"] == "Plain Name"
    assert get(admin_client, "/leads?format=xml").status_code == 400


def test_csv_export_continues_with_the_next_cursor(admin_client, monkeypatch):
    from chalicelib.api import admin_export

    source = f"big-{uuid.uuid4().hex[:6]}"
    mine = {post_lead(admin_client, source=source) for _ in range(5)}
    monkeypatch.setattr(admin_export, "PAGE_SIZE", 2)
    monkeypatch.setattr(admin_export, "MAX_EXPORT_ROWS", 3)
    seen: list[str] = []
    path, headers_seen = f"/leads.csv?source={source}", 0
    while path:
        response = get(admin_client, path)
        rows = list(csv.reader(io.StringIO(response.body.decode())))
        if headers_seen == 0:
            assert rows[0][0] == "id"
        headers_seen += rows[0][0] == "id"
        seen += [row[0] for row in rows if row[0] != "id"]
        cursor = response.headers.get("X-Next-Cursor")
        path = f"/leads.csv?source={source}&cursor={cursor}" if cursor else ""
    assert headers_seen == 1  # the header row only in the first part
    assert sorted(seen) == sorted(mine)


def test_neutralise_follows_owasp():
    from chalicelib.api.admin_export import neutralise

    for dangerous in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("plain =x") == "plain =x"


# --- Suppressions ---------------------------------------------------------------------------------


def test_suppressions_list_search_and_remove_with_an_audited_reason(admin_client, scans):
    from chalicelib.store import suppression

    addresses = [f"gone.{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)]
    for address in addresses:
        suppression.suppress(address, "bounce Permanent/General")
    listed = [item["address"] for item in every_page(admin_client, "/suppressions?limit=2")]
    assert set(addresses) <= set(listed)
    found = get(admin_client, f"/suppressions?q={addresses[0].upper()}").json_body["items"]
    assert [(f["address"], f["reason"]) for f in found] == [(addresses[0], "bounce Permanent/General")]

    path = f"/suppressions/{addresses[0].replace('@', '%40')}"
    missing_reason = admin_client.http.delete(path, headers={**AUTH, **JSON}, body=json.dumps({}))
    assert missing_reason.status_code == 400
    assert suppression.is_suppressed(addresses[0])
    removed = admin_client.http.delete(path, headers={**AUTH, **JSON}, body=json.dumps({"reason": "mailbox fixed"}))
    assert removed.status_code == 200, removed.body
    assert not suppression.is_suppressed(addresses[0])
    again = admin_client.http.delete(path, headers={**AUTH, **JSON}, body=json.dumps({"reason": "mailbox fixed"}))
    assert again.status_code == 404
    entries = [e for e in audit_lines(os.environ["AUDIT_BUCKET"]) if e["action"] == "suppression_removed"]
    assert any(e["reason"] == "mailbox fixed" and e["recipient"] == "g***@e***.com" for e in entries)
    assert addresses[0] not in json.dumps(entries)
    assert scans == []


# --- Dead letters -----------------------------------------------------------------------------------


def dlq_url(suffix: str) -> str:
    return boto3.client("sqs").get_queue_url(QueueName=f"leadflow-local-{suffix}")["QueueUrl"]


def lead_created(lead_id: str, email: str) -> str:
    return json.dumps({"type": "lead.created", "lead": {"id": lead_id, "email": email, "name": "Ada"}})


def test_dead_letters_are_listed_with_counts_ages_and_reasons_and_redriven(admin_client):
    lead_id = post_lead(admin_client)
    sqs = boto3.client("sqs")
    sent = sqs.send_message(QueueUrl=dlq_url("notifications-dlq"), MessageBody=lead_created(lead_id, "x@example.com"),
                            MessageAttributes={"reason": {"DataType": "String", "StringValue": "invalid: nope"}})
    listing = get(admin_client, "/dead-letters").json_body
    queues = {q["queue"]: q for q in listing["queues"]}
    assert set(queues) == {"notifications", "ses-feedback", "lead-stream", "lead-audit", "callbacks"}
    notifications = queues["notifications"]
    assert notifications["count"] >= 1 and notifications["oldest_age_seconds"] is not None
    [mine] = [m for m in notifications["messages"] if m["id"] == sent["MessageId"]]
    assert mine["summary"] == f"lead.created lead={lead_id}" and mine["reason"].startswith("worker: invalid: nope")
    assert "x@example.com" not in json.dumps(listing)
    assert queues["lead-stream"]["redrive"] == "command" and "make dlq" in queues["lead-stream"]["command"]

    bad = admin_client.http.post("/dead-letters/notifications/redrive", headers={**AUTH, **JSON}, body="{}")
    assert bad.status_code == 400
    assert admin_client.http.post("/dead-letters/nope/redrive", headers={**AUTH, **JSON},
                                  body=json.dumps({"all": True})).status_code == 404
    stream = admin_client.http.post("/dead-letters/lead-stream/redrive", headers={**AUTH, **JSON},
                                    body=json.dumps({"all": True}))
    assert stream.status_code == 409 and "make dlq" in stream.json_body["message"]

    redriven = admin_client.http.post("/dead-letters/notifications/redrive", headers={**AUTH, **JSON},
                                      body=json.dumps({"ids": [sent["MessageId"], "no-such-id"]}))
    assert redriven.status_code == 200
    assert {(r["id"], r["outcome"]) for r in redriven.json_body["results"]} == {
        (sent["MessageId"], "redriven"), ("no-such-id", "skipped")
    }
    back = sqs.receive_message(QueueUrl=dlq_url("notifications"), MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["lead"]["id"] for m in back] == [lead_id]
    for message in back:
        sqs.delete_message(QueueUrl=dlq_url("notifications"), ReceiptHandle=message["ReceiptHandle"])
    left = get(admin_client, "/dead-letters").json_body["queues"][0]["messages"]
    assert sent["MessageId"] not in {m["id"] for m in left}


def test_feedback_dead_letters_are_republished_only_to_the_stages_feedback_topic(admin_client):
    topic = "arn:aws:sns:us-east-1:123456789012:leadflow-local-ses-feedback"
    record = ses_events.delivery("event", new_message_id(), ["f@example.com"])
    sqs = boto3.client("sqs")
    other = ses_events.sns_envelope(record, "arn:aws:sns:us-east-1:123456789012:someone-elses-topic")
    ours = ses_events.sns_envelope(record, topic)
    wrong = sqs.send_message(QueueUrl=dlq_url("ses-feedback-dlq"), MessageBody=json.dumps(other))["MessageId"]
    right = sqs.send_message(QueueUrl=dlq_url("ses-feedback-dlq"), MessageBody=json.dumps(ours))["MessageId"]
    answer = admin_client.http.post("/dead-letters/ses-feedback/redrive", headers={**AUTH, **JSON},
                                    body=json.dumps({"all": True})).json_body
    outcomes = {r["id"]: r["outcome"] for r in answer["results"]}
    assert outcomes == {wrong: "failed", right: "redriven"}
    left = {m["id"] for q in get(admin_client, "/dead-letters").json_body["queues"] for m in q["messages"]}
    assert wrong in left and right not in left


# --- Health ------------------------------------------------------------------------------------------


def test_stats_count_per_status_and_rates_against_the_ses_thresholds(admin_client, scans):
    before = get(admin_client, "/stats").json_body
    lead_id = post_lead(admin_client)
    ids = [new_message_id() for _ in range(4)]
    for i, message_id in enumerate(ids):
        record_sent(lead_id, f"kind{i}", f"s{i}@example.com", message_id)
    feedback.handle(ses_events.delivery("event", ids[0], ["s0@example.com"]))
    feedback.handle(ses_events.delivery("event", ids[1], ["s1@example.com"]))
    feedback.handle(ses_events.bounce("event", ids[2], ["s2@example.com"]))
    after = get(admin_client, "/stats").json_body
    assert after["thresholds"] == {"bounce_rate": 0.05, "complaint_rate": 0.001}

    def delta(window: str, status: str) -> int:
        return int(after["windows"][window]["counts"][status] - before["windows"][window]["counts"][status])

    for window in ("24h", "7d"):
        assert (delta(window, "delivered"), delta(window, "bounced"), delta(window, "sent")) == (2, 1, 1)
        counts = after["windows"][window]["counts"]
        reached = counts["sent"] + counts["delivered"] + counts["bounced"] + counts["complained"]
        assert after["windows"][window]["sent"] == reached
        assert after["windows"][window]["bounce_rate"] == pytest.approx(counts["bounced"] / reached, abs=1e-6)
    assert after["windows"]["7d"]["counts"]["delivered"] >= after["windows"]["24h"]["counts"]["delivered"]
    assert scans == []


# --- Erasure -------------------------------------------------------------------------------------------


def test_erasing_a_lead_removes_its_copies_from_the_dead_letter_queues(admin_client):
    email = f"erase.{uuid.uuid4().hex[:8]}@example.com"
    lead_id = post_lead(admin_client, email=email)
    message_id = new_message_id()
    record_sent(lead_id, "customer_confirmation", email, message_id)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=dlq_url("notifications-dlq"), MessageBody=lead_created(lead_id, email))
    feedback_copy = ses_events.sns_envelope(ses_events.bounce("identity", message_id, [email]),
                                            "arn:aws:sns:us-east-1:123456789012:leadflow-local-ses-feedback")
    sqs.send_message(QueueUrl=dlq_url("ses-feedback-dlq"), MessageBody=json.dumps(feedback_copy))
    other = sqs.send_message(QueueUrl=dlq_url("notifications-dlq"), MessageBody=lead_created(post_lead(admin_client),
                                                                                             "keep@example.com"))
    response = admin_client.http.delete(f"/leads/{lead_id}", headers=AUTH)
    assert response.status_code == 200
    assert response.json_body["dead_letters_removed"] == 2
    left = get(admin_client, "/dead-letters").json_body
    assert email not in json.dumps(left) and lead_id not in json.dumps(left)
    assert other["MessageId"] in {m["id"] for q in left["queues"] for m in q["messages"]}


def test_erasure_by_address_erases_every_lead_and_email_of_it_and_audits_without_personal_data(admin_client):
    from chalicelib.store import deliveries, ledger
    from chalicelib.store.deliveries import DeliveryKey

    email = f"everything.{uuid.uuid4().hex[:8]}@example.com"
    first, second = post_lead(admin_client, email=email), post_lead(admin_client, email=email)
    kept = post_lead(admin_client)
    record_sent(first, "customer_confirmation", email, new_message_id())
    request_key = DeliveryKey("req-" + uuid.uuid4().hex, "order_confirmation", email)  # another system's email
    claim = ledger.claim(request_key)
    assert ledger.mark_sent(request_key, claim.token, new_message_id())

    bad = admin_client.http.post("/erasures", headers={**AUTH, **JSON}, body=json.dumps({"email": "nope"}))
    assert bad.status_code == 400
    response = admin_client.http.post("/erasures", headers={**AUTH, **JSON}, body=json.dumps({"email": email}))
    assert response.status_code == 200, response.body
    body = response.json_body
    assert sorted(body["leads"]) == sorted([first, second]) and body["leads_erased"] == 2
    assert body["deliveries_anonymised"] == 2
    assert email not in json.dumps(body)
    for lead_id in (first, second):
        assert get(admin_client, f"/leads/{lead_id}").json_body["status"] == "erased"
    assert get(admin_client, f"/leads/{kept}").json_body["status"] == "received"
    assert "recipient" not in (deliveries.get(request_key.delivery_id) or {})
    assert every_page(admin_client, f"/leads?email={email.replace('@', '%40')}") == []
    entries = [e for e in audit_lines(os.environ["AUDIT_BUCKET"]) if e["action"] == "erased_by_address"]
    mine = [e for e in entries if first in e["lead_ids"]]
    assert len(mine) == 1 and mine[0]["leads_erased"] == 2
    assert email not in json.dumps(entries)
    again = admin_client.http.post("/erasures", headers={**AUTH, **JSON}, body=json.dumps({"email": email}))
    assert again.json_body["leads_erased"] == 0  # repeatable
