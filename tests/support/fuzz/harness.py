"""The fuzz tests' handle on the app: a test client plus table probes, and a request counter."""

from __future__ import annotations

import json
from typing import Any

REQUESTS = {"count": 0}


class FuzzApi:
    """A plain class, not a dataclass: hypothesis prints dataclass fields in full in
    every failure report, and the key registry grows large."""

    def __init__(self, client: Any, env: dict[str, str], dynamodb: Any) -> None:
        self.client = client
        self.env = env
        self.dynamodb = dynamodb
        # (Idempotency-Key, its scope) -> (parsed body, lead id) for keys the app has accepted.
        self.keys: dict[tuple[str, str | None], tuple[Any, str]] = {}

    def __repr__(self) -> str:
        return f"FuzzApi(<{len(self.keys)} idempotency keys seen>)"

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
        REQUESTS["count"] += 1
        return self.client.http.request(method, path, headers=headers, body=body)

    def item_count(self, table_variable: str) -> int:
        # moto keeps ItemCount live (AWS refreshes it every ~6 hours; fine here).
        return int(self.dynamodb.describe_table(TableName=self.env[table_variable])["Table"]["ItemCount"])

    def lead_count(self) -> int:
        return self.item_count("LEADS_TABLE")

    def get_lead(self, lead_id: str) -> dict[str, Any] | None:
        from chalicelib.store.items import from_item

        found = self.dynamodb.get_item(
            TableName=self.env["LEADS_TABLE"], Key={"id": {"S": lead_id}}, ConsistentRead=True
        ).get("Item")
        return from_item(found) if found else None


def json_body(response: Any) -> Any:
    try:
        return json.loads(response.body)
    except (ValueError, TypeError):
        return None
