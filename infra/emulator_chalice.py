"""`chalice` for the local emulator only: the same CLI with one compatibility shim.

    python -m infra.emulator_chalice deploy --stage local-rehearsal

The emulator (moto) accepts only OpenAPI 3 API documents, and Chalice sends a
Swagger 2.0 one. The shim relabels the document as OpenAPI 3 (moto reads only
its paths, methods and integrations) before it is sent. Nothing else differs
from `chalice deploy`; refusing to run without a loopback AWS_ENDPOINT_URL
keeps the shim away from real AWS.
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlparse

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def as_openapi3(document: dict[str, Any]) -> dict[str, Any]:
    relabelled = {key: value for key, value in document.items() if key != "swagger"}
    relabelled["openapi"] = "3.0.1"
    relabelled["info"] = {"description": "", **document.get("info", {})}
    return relabelled


def install_shim() -> None:
    from chalice.awsclient import TypedAWSClient

    original_import = TypedAWSClient.import_rest_api
    original_update = TypedAWSClient.update_api_from_swagger

    def import_rest_api(self: TypedAWSClient, swagger_document: dict[str, Any], endpoint_type: str) -> str:
        return str(original_import(self, as_openapi3(swagger_document), endpoint_type))

    def update_api_from_swagger(self: TypedAWSClient, rest_api_id: str, swagger_document: dict[str, Any]) -> None:
        original_update(self, rest_api_id, as_openapi3(swagger_document))

    TypedAWSClient.import_rest_api = import_rest_api  # type: ignore[method-assign]
    TypedAWSClient.update_api_from_swagger = update_api_from_swagger  # type: ignore[method-assign]


def require_loopback_endpoint() -> None:
    host = urlparse(os.environ.get("AWS_ENDPOINT_URL", "")).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit("infra.emulator_chalice only talks to a loopback AWS_ENDPOINT_URL (the emulator)")


def main() -> None:
    require_loopback_endpoint()
    install_shim()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *sys.argv[1:]]
    chalice_main()


if __name__ == "__main__":
    main()
