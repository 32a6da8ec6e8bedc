"""leadflow: routes and event handlers, one line each. Logic lives in chalicelib/.

Resource names come from the stage's environment variables
(.chalice/config.json); the event-source settings Chalice cannot express live
in .chalice/event-sources.json. Handlers import their module inside the
function, so each Lambda function loads only what it runs (cold start).
"""

from __future__ import annotations

import os
from typing import Any

from chalice.app import AuthRequest, Chalice, DynamoDBEvent, Request, Response, SNSEvent, SQSEvent

from chalicelib.api import http

app = Chalice(app_name="leadflow")
if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
    # Under the chalice CLI: plain `chalice package`/`deploy` would leave out what infra/ adds.
    from chalicelib.core import plain_chalice

    plain_chalice.refuse_incomplete_commands()
# Every error answer in the API's error shape (ApiError, Chalice's own 405/500s).
app.register_middleware(http.normalise_errors, "http")

BatchResponse = dict[str, list[dict[str, str]]]


def request() -> Request:
    """The request a route is answering (Chalice sets it before any view runs)."""
    current = app.current_request
    if current is None:
        raise RuntimeError("no current request outside a route")
    return current


# --- Public API ----------------------------------------------------------------


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/leads", methods=["POST"], content_types=["*/*"])
def create_lead() -> Response:
    from chalicelib.api import leads

    return leads.handle_post(request())


@app.route("/leads", methods=["OPTIONS"])
def leads_preflight() -> Response:
    from chalicelib.api import leads

    return leads.handle_preflight(request())


# --- What websites embed or land on (api/website.py) ---------------------------------


@app.route("/thanks", methods=["GET"])
def thanks() -> Response:
    from chalicelib.api import website

    return website.thanks(request().query_params)


@app.route("/embed.js", methods=["GET"])
def embed_script() -> Response:
    from chalicelib.api import website

    return website.embed_script(request().headers, request().query_params)


@app.route("/pages.css", methods=["GET"])
def page_styles() -> Response:
    from chalicelib.api import website

    return website.page_styles(request().headers)


@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    from chalicelib.api import openapi

    return openapi.document_response()


# --- Senders' API (other systems; a sender key, checked in the view: api/notifications.py) --


@app.route("/notifications", methods=["POST"], content_types=["*/*"])
def create_notification() -> Response:
    from chalicelib.api import notifications

    return notifications.create(request())


@app.route("/notifications/{notification_id}", methods=["GET"])
def get_notification(notification_id: str) -> Response:
    from chalicelib.api import notifications

    return notifications.read(request(), notification_id)


# --- Admin API (a Chalice built-in authorizer; api/auth.py says who answers 401 and 403) --


@app.authorizer()
def admin_auth(auth_request: AuthRequest) -> Any:
    from chalicelib.api import auth

    return auth.authorize(auth_request)


@app.route("/leads", methods=["GET"], authorizer=admin_auth)
def list_leads() -> Response:
    from chalicelib.api import admin

    return admin.list_leads(request().query_params)


@app.route("/leads/{lead_id}", methods=["GET"], authorizer=admin_auth)
def get_lead(lead_id: str) -> Response:
    from chalicelib.api import admin

    return admin.get_lead(lead_id)


@app.route("/leads/{lead_id}", methods=["DELETE"], authorizer=admin_auth)
def erase_lead(lead_id: str) -> Response:
    from chalicelib.api import admin

    return admin.erase_lead(lead_id)


@app.route("/erasures", methods=["POST"], authorizer=admin_auth)
def erase_by_email() -> Response:
    from chalicelib.api import admin

    return admin.erase_by_email(request().json_body)


@app.route("/leads.csv", methods=["GET"], authorizer=admin_auth)
def export_leads() -> Response:
    from chalicelib.api import admin_export

    return admin_export.leads_csv(request().query_params or {})


@app.route("/suppressions", methods=["GET"], authorizer=admin_auth)
def list_suppressions() -> Response:
    from chalicelib.api import admin_ops

    return admin_ops.list_suppressions(request().query_params)


@app.route("/suppressions/{address}", methods=["DELETE"], authorizer=admin_auth)
def remove_suppression(address: str) -> Response:
    from chalicelib.api import admin_ops

    return admin_ops.remove_suppression(address, request().json_body)


@app.route("/dead-letters", methods=["GET"], authorizer=admin_auth)
def list_dead_letters() -> Response:
    from chalicelib.api import admin_ops

    return admin_ops.list_dead_letters()


@app.route("/dead-letters/{queue}/redrive", methods=["POST"], authorizer=admin_auth)
def redrive_dead_letters(queue: str) -> Response:
    from chalicelib.api import admin_ops

    return admin_ops.redrive_dead_letters(queue, request().json_body)


@app.route("/stats", methods=["GET"], authorizer=admin_auth)
def delivery_stats() -> Response:
    from chalicelib.api import admin_ops

    return admin_ops.stats()


# --- The team's dashboard (a page with no data: it asks for the token; see api/admin_page.py) --


@app.route("/admin", methods=["GET"])
def dashboard() -> Response:
    from chalicelib.api import admin_page

    return admin_page.serve("page")


@app.route("/admin/app.js", methods=["GET"])
def dashboard_script() -> Response:
    from chalicelib.api import admin_page

    return admin_page.serve("script")


@app.route("/admin/app.css", methods=["GET"])
def dashboard_style() -> Response:
    from chalicelib.api import admin_page

    return admin_page.serve("style")


# --- Event handlers --------------------------------------------------------------


@app.on_dynamodb_record(
    stream_arn=os.environ.get("LEADS_STREAM_ARN", ""), batch_size=25, starting_position="TRIM_HORIZON"
)
def on_lead_stream(event: DynamoDBEvent) -> BatchResponse:
    from chalicelib.pipeline import lead_stream

    return lead_stream.handle_stream_batch(event)


@app.on_sqs_message(queue=os.environ.get("NOTIFICATIONS_QUEUE", "notifications"), batch_size=10)
def on_notification(event: SQSEvent) -> BatchResponse:
    from chalicelib.pipeline import notifications

    return notifications.handle_batch(event)


@app.on_sns_message(topic=os.environ.get("SES_FEEDBACK_TOPIC", "ses-feedback"))
def on_ses_feedback(event: SNSEvent) -> None:
    from chalicelib.pipeline import feedback

    feedback.handle_sns_message(event.message)


@app.on_sqs_message(queue=os.environ.get("CALLBACKS_QUEUE", "callbacks"), batch_size=10)
def on_callback(event: SQSEvent) -> BatchResponse:
    from chalicelib.pipeline import callbacks

    return callbacks.handle_batch(event)


@app.on_dynamodb_record(
    stream_arn=os.environ.get("LEADS_STREAM_ARN", ""), batch_size=100, starting_position="TRIM_HORIZON"
)
def on_lead_audit(event: DynamoDBEvent) -> BatchResponse:
    from chalicelib.pipeline import audit

    return audit.handle_stream_batch(event)
