"""schemathesis against a whole local stack, from GET /openapi.json: no 5xx, every answer
(status, content type, headers, body) as the document says. A quick profile in `make test`,
a long one in `make fuzz` (LEADFLOW_FUZZ_PROFILE=long)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from devstack.stack import LocalStack, StackConfig, free_port
from tests.support.fuzz import profile

pytestmark = pytest.mark.e2e

ADMIN = "fuzz-admin-token"
SENDER = "fuzz-sender-key"
EXAMPLES = {"quick": 8, "long": 300}[profile.PROFILE]
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=tmp_path_factory.mktemp("outbox"),
                         admin_token=ADMIN, sender_key=SENDER, with_viewer=False, quiet=True)
    with LocalStack(config) as running:
        yield running


# Methods a route lacks are not the document's business: `chalice local` (Python's http.server)
# answers TRACE itself with a 501 that API Gateway never gives; stateful links are not documented.
CONFIG = SchemathesisConfig.from_str("""
[phases.coverage]
unexpected-methods = []
[phases.stateful]
enabled = false
""")


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack) -> object:
    return schemathesis.openapi.from_url(stack.config.api_url + "/openapi.json", config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


def auth_for(case: object) -> dict[str, str]:
    path = str(getattr(case, "path", ""))
    token = SENDER if path.startswith("/notifications") else ADMIN
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, stack):
    # The right credentials for the route: what is fuzzed is everything else.
    headers = {**(case.headers or {}), **auth_for(case)}
    case.call_and_validate(base_url=stack.config.api_url, headers=headers, checks=CHECKS)
