"""API Gateway Gateway Responses: the authorizer's 401/403 in the API's error shape.

API Gateway answers a missing or rejected admin token itself, before any
Lambda runs, with its own body; these responses make those answers match
the documented `{"error", "message"}` shape (the bodies are defined once,
in chalicelib/auth.py, and `make run` serves the same ones locally).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.api.http import GATEWAY_RESPONSE_BODIES

API_STAGE = "api"


def _template(body: dict[str, str]) -> dict[str, str]:
    return {"application/json": json.dumps(body)}


# API Gateway's other own answers (an unknown path's 403 "Missing Authentication
# Token", its throttling 429, integration failures) in the same shape; the
# status code stays API Gateway's, the message is its own (a VTL string).
DEFAULT_TEMPLATES = {
    "DEFAULT_4XX": '{"error": "request_rejected", "message": $context.error.messageString}',
    "DEFAULT_5XX": '{"error": "internal_error", "message": $context.error.messageString}',
}


def _responses() -> dict[str, dict[str, Any]]:
    """Response type -> put_gateway_response arguments (without the API id)."""
    responses: dict[str, dict[str, Any]] = {
        kind: {"statusCode": str(status), "responseTemplates": _template(body)}
        for kind, (status, body) in GATEWAY_RESPONSE_BODIES.items()
    }
    for kind, template in DEFAULT_TEMPLATES.items():
        responses[kind] = {"responseTemplates": {"application/json": template}}
    return responses


def cfn_resources(rest_api_logical_id: str = "RestAPI") -> dict[str, Any]:
    """Resources for the merged (`chalice package`) template."""
    resources: dict[str, Any] = {}
    for kind, spec in _responses().items():
        props: dict[str, Any] = {
            "RestApiId": {"Ref": rest_api_logical_id},
            "ResponseType": kind,
            "ResponseTemplates": spec["responseTemplates"],
        }
        if "statusCode" in spec:
            props["StatusCode"] = spec["statusCode"]
        name = "GatewayResponse" + kind.title().replace("_", "")
        resources[name] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": props}
    return resources


def deployed_rest_api_id(project_dir: Path, stage: str) -> str | None:
    """The REST API id `chalice deploy` recorded for the stage."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not path.exists():
        return None
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    return None


def apply(apigateway: Any, rest_api_id: str) -> list[str]:
    """Put each response (idempotent) and redeploy the stage so it takes effect."""
    applied = []
    for kind, spec in _responses().items():
        apigateway.put_gateway_response(restApiId=rest_api_id, responseType=kind, **spec)
        applied.append(kind)
    apigateway.create_deployment(restApiId=rest_api_id, stageName=API_STAGE)
    return applied
