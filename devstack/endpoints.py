"""Which emulator process serves which AWS service.

The emulator runs as two moto processes by default (devstack.stack): DynamoDB
and DynamoDB Streams in one, every other service in the other, so a burst uses
both cores. The split is a cut where moto keeps no state across it: streams
live with their tables, and SES -> SNS -> SQS delivery stays in one process.

The app never knows: boto3 takes a per-service endpoint from
AWS_ENDPOINT_URL_<SERVICE> (botocore's service id, upper case, spaces as
underscores) before AWS_ENDPOINT_URL, and the stack sets both for every process
it starts. Tools that are only given the main emulator's address (the mail
viewer, `make dlq`, the soak, the benches, the tests) ask it for the rest: the
main emulator answers ROUTES_PATH with the services it hands elsewhere.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping

# The --name devstack/stack.py gives the emulator's DynamoDB process.
DYNAMODB_PROCESS = "dynamodb"
# The services of the DynamoDB process, by boto3 service name, and the variables boto3 reads for them.
DYNAMODB_SERVICES = ("dynamodb", "dynamodbstreams")
SERVICE_ENV_VARS = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "dynamodbstreams": "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
}
# Served by the main emulator (devstack.emulator): {"dynamodb": "http://...", ...}, {} when it serves all.
ROUTES_PATH = "/devstack/endpoints"

_known: dict[str, dict[str, str]] = {}
_known_lock = threading.Lock()


def routes(endpoint: str) -> dict[str, str]:
    """service -> endpoint for the services `endpoint` (a main emulator) hands to another process.

    Remembered per endpoint once it answered; an emulator that is not up yet is
    asked again next time. "" (in-process moto) routes nothing."""
    if not endpoint:
        return {}
    with _known_lock:
        if endpoint in _known:
            return dict(_known[endpoint])
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + ROUTES_PATH, timeout=5) as response:
            found = {str(k): str(v) for k, v in json.loads(response.read()).items()}
    except urllib.error.HTTPError:
        found = {}  # it answered, without routes: an emulator that serves every service
    except (OSError, ValueError):
        return {}
    with _known_lock:
        _known[endpoint] = found
    return dict(found)


def forget(endpoint: str) -> None:
    """Drop what `endpoint` answered: its emulator stopped, and a new one may take the port."""
    with _known_lock:
        _known.pop(endpoint, None)


def service_endpoint(service: str, endpoint: str) -> str:
    """The endpoint that serves `service` in the emulator whose main address is `endpoint`."""
    return routes(endpoint).get(service, endpoint)


def emulator_endpoints(endpoint: str) -> list[str]:
    """Every process of the emulator at `endpoint`, the main one first (for the request recorder)."""
    found = [endpoint]
    for other in routes(endpoint).values():
        if other not in found:
            found.append(other)
    return found


def endpoint_env(endpoint: str, served: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that point boto3 at this emulator: AWS_ENDPOINT_URL and, for every routed
    service, its own variable (set to the main endpoint when not routed, so a stale value
    from elsewhere never wins)."""
    table = routes(endpoint) if served is None else dict(served)
    env = {"AWS_ENDPOINT_URL": endpoint}
    env.update({var: table.get(service, endpoint) for service, var in SERVICE_ENV_VARS.items()})
    return env
