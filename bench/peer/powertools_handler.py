"""POST /leads built the idiomatic Powertools way: the cold-start peer.

Same shape as leadflow's API function: an API Gateway REST resolver, the
spec's field rules as a pydantic model (Powertools' built-in validation),
and a DynamoDB client built at import, as Powertools examples do. It is a
yardstick for bench/cold_start.py, never shipped and never in chalicelib/.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
]
Phone = Annotated[str, StringConstraints(max_length=40, pattern=r"^[0-9 +\-().]*$")]
Source = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]


class Lead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email
    phone: Phone | None = None
    message: Annotated[str, StringConstraints(max_length=5000)] | None = None
    source: Source = "website"
    metadata: Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=64)],
                             Annotated[str, StringConstraints(max_length=500)]],
                        Field(max_length=20)] | None = None
    gotcha: str = Field(default="", alias="_gotcha")


app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")
LEADS_TABLE = os.environ.get("LEADS_TABLE", "leads")


def to_item(lead: Lead, lead_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": lead_id},
        "name": {"S": lead.name},
        "email": {"S": lead.email},
        "source": {"S": lead.source},
        "created_at": {"S": datetime.now(UTC).isoformat()},
    }
    if lead.phone:
        item["phone"] = {"S": lead.phone}
    if lead.message:
        item["message"] = {"S": lead.message}
    if lead.metadata:
        item["metadata"] = {"M": {k: {"S": v} for k, v in lead.metadata.items()}}
    return item


@app.post("/leads")
def create_lead(lead: Lead) -> Response[dict[str, str]]:
    lead_id = uuid.uuid4().hex
    if not lead.gotcha:
        dynamodb.put_item(TableName=LEADS_TABLE, Item=to_item(lead, lead_id))
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body={"id": lead_id, "status": "received"},
        headers={"Location": f"/leads/{lead_id}"},
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
