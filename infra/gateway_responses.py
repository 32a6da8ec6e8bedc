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

from chalicelib.auth import GATEWAY_RESPONSE_BODIES

API_STAGE = "api"


def _template(body: dict[str, str]) -> dict[str, str]:
    return {"application/json": json.dumps(body)}


def cfn_resources(rest_api_logical_id: str = "RestAPI") -> dict[str, Any]:
    """Resources for the merged (`chalice package`) template."""
    return {
        f"GatewayResponse{kind.title().replace('_', '')}": {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": rest_api_logical_id},
                "ResponseType": kind,
                "StatusCode": str(status),
                "ResponseTemplates": _template(body),
            },
        }
        for kind, (status, body) in GATEWAY_RESPONSE_BODIES.items()
    }


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
    for kind, (status, body) in GATEWAY_RESPONSE_BODIES.items():
        apigateway.put_gateway_response(
            restApiId=rest_api_id, responseType=kind, statusCode=str(status), responseTemplates=_template(body)
        )
        applied.append(kind)
    apigateway.create_deployment(restApiId=rest_api_id, stageName=API_STAGE)
    return applied
