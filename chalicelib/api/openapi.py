"""GET /openapi.json: the OpenAPI 3.1 document of the public API (api/openapi.json).

Kept true by tests/unit/test_openapi.py (every route of app.py is in it and
every path in it is a route) and by the schemathesis run against the local
stack (every answer matches it). A branch that adds routes appends their
paths to the JSON file.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Response

DOCUMENT = Path(__file__).resolve().parent / "openapi.json"


@cache
def document() -> dict[str, Any]:
    return dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))


def document_response() -> Response:
    return Response(body=document(), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"})
