"""A whole local stack on free ports (emulator, runtime, mail viewer, API), and posting a lead to it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devstack.stack import DEFAULT_ADMIN_TOKEN, LocalStack, StackConfig, free_port
from tests.support.mailviewer import MailViewer


@contextmanager
def local_stack(outbox: Path, **settings: Any) -> Iterator[LocalStack]:
    """Started on free ports with its own outbox; stopped on exit."""
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=outbox, **settings)
    with LocalStack(config) as stack:
        yield stack


@contextmanager
def dead_lettered_after(stack: LocalStack, queue: str, receives: int) -> Iterator[None]:
    """The stack's `queue` (by name) moves a message to its DLQ after `receives` receives
    instead of its template's count, until exit. The app's backoff between receives (2, 4,
    8 s) is then not waited out by a test that only needs the message dead-lettered."""
    from devstack.provision import local_client

    sqs = local_client("sqs", stack.config.aws_endpoint)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    kept = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    sooner = {**json.loads(kept), "maxReceiveCount": receives}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(sooner)})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": kept})


def viewer(stack: LocalStack) -> MailViewer:
    return MailViewer(stack.config.mail_url)


def post_lead(stack: LocalStack, **fields: str) -> str:
    """POST /leads with a name and address unique to this call unless given; the new lead's id."""
    unique = uuid.uuid4().hex[:8]
    body = {"name": f"Grace {unique}", "email": f"grace.{unique}@example.com", **fields}
    request = urllib.request.Request(
        stack.config.api_url + "/leads", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return str(json.loads(response.read())["id"])


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
    token: str | None = DEFAULT_ADMIN_TOKEN,
) -> tuple[int, Any]:
    """One JSON request to the stack's API (with the local admin token unless token=None); (status, body)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}),
               **(headers or {})}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(stack.config.api_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def leads_from(stack: LocalStack, email: str) -> list[dict[str, Any]]:
    """Every lead the stack stored for this address (a scan: test tables are small)."""
    from chalicelib.store.items import from_item
    from devstack.provision import local_client, stage_environment

    dynamodb = local_client("dynamodb", stack.config.aws_endpoint)
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=stage_environment(stack.config.stage)["LEADS_TABLE"], FilterExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": email}}, ConsistentRead=True,
    )
    return [from_item(item) for page in pages for item in page["Items"]]
