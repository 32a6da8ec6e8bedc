"""leadflow: routes and event handlers. Logic lives in chalicelib/."""

from __future__ import annotations

import os

from chalice import Chalice, Response
from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib import cors, lead_intake

app = Chalice(app_name="leadflow")

LEADS_METHODS = "POST,OPTIONS"


def _client_id() -> str:
    identity = (app.current_request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/leads", methods=["POST"], content_types=["*/*"])
def create_lead() -> Response:
    request = app.current_request
    response = lead_intake.create_lead(request.headers, request.raw_body or b"", _client_id())
    return cors.with_cors(response, request.headers.get("origin"), LEADS_METHODS)


@app.route("/leads", methods=["OPTIONS"])
def leads_preflight() -> Response:
    return cors.preflight(app.current_request.headers.get("origin"), LEADS_METHODS)


# --- Notification pipeline -------------------------------------------------
# Resource names come from the stage's environment variables; the event-source
# settings Chalice cannot express live in .chalice/event-sources.json.


@app.on_dynamodb_record(stream_arn=os.environ.get("LEADS_STREAM_ARN", ""), batch_size=25)
def on_lead_stream(event: DynamoDBEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import lead_events

    return lead_events.handle_stream_batch(event)


@app.on_sqs_message(queue=os.environ.get("NOTIFICATIONS_QUEUE", "notifications"), batch_size=10)
def on_notification(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import notification_worker

    return notification_worker.handle_batch(event)
