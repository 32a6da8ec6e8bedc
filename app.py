"""leadflow: routes and event handlers. Logic lives in chalicelib/."""

from __future__ import annotations

import os

from chalice import Chalice, Response
from chalice.app import AuthRequest, DynamoDBEvent, SNSEvent, SQSEvent

from chalicelib import cors, http_errors, lead_intake

app = Chalice(app_name="leadflow")


def _stop_plain_chalice_deploys() -> None:
    """Plain `chalice package` leaves out the tables, topics, queues and the mapping settings
    Chalice cannot express, and plain `chalice deploy` cannot create them; `make package` and
    `make deploy` (infra/, which set LEADFLOW_DEPLOY_TOOL) can. Off Lambda only; never in tests."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("LEADFLOW_DEPLOY_TOOL"):
        return
    import sys  # already loaded; imported here to keep the module's imports those Lambda needs

    command = sys.argv[1:] if os.path.basename(sys.argv[0]) == "chalice" else []
    stage = next((command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--stage"), "dev")
    if "package" in command:
        sys.exit(f"leadflow: use `make package STAGE={stage}`: plain `chalice package` leaves out the tables, "
                 "queues and event-source settings (infra/DEPLOY.md)")
    if "deploy" in command and not os.environ.get("LEADS_STREAM_ARN"):
        sys.exit(f"leadflow: use `make deploy STAGE={stage}`: stage {stage} has no resources yet, and plain "
                 "`chalice deploy` cannot create them (infra/DEPLOY.md)")
    if "deploy" in command:
        print(f"leadflow: plain `chalice deploy` updates code and keeps the event-source settings; "
              f"`make deploy STAGE={stage}` also re-checks them and the API's settings", file=sys.stderr)


_stop_plain_chalice_deploys()
# Chalice's own error answers (405, unhandled 500s) in the API's error shape.
app.register_middleware(http_errors.normalise_errors, "http")

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


@app.on_dynamodb_record(
    stream_arn=os.environ.get("LEADS_STREAM_ARN", ""), batch_size=25, starting_position="TRIM_HORIZON"
)
def on_lead_stream(event: DynamoDBEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import lead_events

    return lead_events.handle_stream_batch(event)


@app.on_sqs_message(queue=os.environ.get("NOTIFICATIONS_QUEUE", "notifications"), batch_size=10)
def on_notification(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import notification_worker

    return notification_worker.handle_batch(event)


# --- Delivery tracking and admin -------------------------------------------
# Admin routes sit behind a Chalice built-in authorizer (Bearer token, hash in
# config; chalicelib/auth.py says who answers 401 and 403). SES feedback and
# the audit log are event handlers; the logic is in chalicelib/.


@app.authorizer()
def admin_auth(auth_request: AuthRequest) -> object:
    from chalicelib import auth

    return auth.authorize(auth_request)


@app.route("/leads", methods=["GET"], authorizer=admin_auth)
def list_leads() -> Response:
    from chalicelib import admin

    return admin.list_leads(app.current_request.query_params)


@app.route("/leads/{lead_id}", methods=["GET"], authorizer=admin_auth)
def get_lead(lead_id: str) -> Response:
    from chalicelib import admin

    return admin.get_lead(lead_id)


@app.route("/leads/{lead_id}", methods=["DELETE"], authorizer=admin_auth)
def erase_lead(lead_id: str) -> Response:
    from chalicelib import admin

    return admin.erase_lead(lead_id)


@app.on_sns_message(topic=os.environ.get("SES_FEEDBACK_TOPIC", "ses-feedback"))
def on_ses_feedback(event: SNSEvent) -> None:
    from chalicelib import feedback

    feedback.handle_sns_message(event.message)


@app.on_dynamodb_record(
    stream_arn=os.environ.get("LEADS_STREAM_ARN", ""), batch_size=100, starting_position="TRIM_HORIZON"
)
def on_lead_audit(event: DynamoDBEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import audit

    return audit.handle_stream_batch(event)
