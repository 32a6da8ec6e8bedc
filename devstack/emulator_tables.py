"""Tables for the emulator's DynamoDB process, made from their template resources without
moto's CloudFormation.

The DynamoDB process serves DynamoDB and its streams alone (devstack/endpoints.py). Going
through CloudFormation there cost every stack start about a second of CPU: importing
moto.cloudformation imports every backend it can create (EC2 and its instance types,
API Gateway and its OpenAPI validator, ...), for six tables. This process answers
TABLES_PATH instead: a POST of {"Resources": {logical id: table resource, intrinsics
resolved}} makes each table that does not exist yet with moto's own CloudFormation model
for a table (moto/dynamodb/models/table.py: Table.create_from_cloudformation_json, what
moto's CloudFormation calls for AWS::DynamoDB::Table), so the properties mean what they
mean in a stack. The main process still deploys the rest of the template through
CloudFormation (devstack/provision.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

TABLES_PATH = "/devstack/tables"
TABLE_TYPE = "AWS::DynamoDB::Table"


class BadTables(ValueError):
    """The request is not a set of table resources."""


def create(resources: Any, account: str, region: str) -> list[str]:
    """Make each table of `resources` that does not exist yet; the names made, in order."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    if not isinstance(resources, dict):
        raise BadTables("Resources must be an object of logical id -> resource")
    for logical, resource in resources.items():
        if not (isinstance(resource, dict) and resource.get("Type") == TABLE_TYPE
                and isinstance(resource.get("Properties"), dict)
                and isinstance(resource["Properties"].get("TableName"), str)):
            raise BadTables(f"{logical}: not an {TABLE_TYPE} with Properties.TableName (intrinsics resolved)")
    backend = dynamodb_backends[account][region]
    made = []
    for resource in resources.values():
        name = resource["Properties"]["TableName"]
        if name not in backend.tables:
            Table.create_from_cloudformation_json(name, resource, account, region)
            made.append(name)
    return made


def with_tables(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """`app`, answering TABLES_PATH itself (POST: create the tables; the names made)."""

    from moto.core.models import DEFAULT_ACCOUNT_ID

    def tables(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != TABLES_PATH:
            return app(environ, start_response)
        status, answer = "200 OK", dict[str, Any]()
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise BadTables(f"POST the tables to {TABLES_PATH}")
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"null")
            if not isinstance(body, dict):
                raise BadTables("the body must be a JSON object")
            answer = {"created": create(body.get("Resources"), str(body.get("AccountId", DEFAULT_ACCOUNT_ID)),
                                        str(body.get("Region", "us-east-1")))}
        except ValueError as error:  # BadTables, or a body that is not JSON
            status, answer = "400 Bad Request", {"message": str(error)}
        except Exception as error:  # noqa: BLE001 - moto's refusal of a table, said back to the caller
            status, answer = "400 Bad Request", {"message": f"{type(error).__name__}: {error}"}
        data = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return tables
