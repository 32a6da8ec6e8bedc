"""The audit bucket: date-partitioned JSON-lines objects, one per batch.

Layout: `s3://<AUDIT_BUCKET>/leads/dt=YYYY-MM-DD/<kind>-<digest>.jsonl` (S3
has no append; `dt=` partitions suit Athena). Object keys are derived from
what is recorded, so a retried batch overwrites its own object instead of
adding a duplicate.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import aws
from chalicelib.core.digest import digest
from chalicelib.core.settings import get_settings

PREFIX = "leads"


def object_key(kind: str, day: str, identity: str) -> str:
    return f"{PREFIX}/dt={day}/{kind}-{digest(identity, 32)}.jsonl"


def write_entries(kind: str, day: str, identity: str, entries: list[dict[str, Any]]) -> str:
    bucket = get_settings().audit_bucket
    if not bucket:
        raise RuntimeError("AUDIT_BUCKET is not set; refusing to drop audit entries")
    key = object_key(kind, day, identity)
    body = "".join(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n" for entry in entries)
    aws.s3().put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")
    return key
