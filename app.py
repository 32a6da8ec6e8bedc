"""leadflow: routes and event handlers. Logic lives in chalicelib/."""

from __future__ import annotations

from chalice import Chalice, Response

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
