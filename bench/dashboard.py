"""The team's dashboard in headless Chromium, on the local stack with 1,000 leads (2,000 deliveries).

Measures, as the median of a few rounds: the time from navigation to the
first page of leads rendered, to one lead's detail rendered (in-page, from
the list), and to the health view; the page's transfer size (its HTML,
script and stylesheet, and with the first page of leads); and how many
Scan calls the emulator saw while the dashboard was used (its request
recorder, as bench/pipeline.py counts calls): every list must go through an
index, so the goal is zero.

The leads and deliveries are written straight into the emulator's tables
(the pipeline's own speed is bench/pipeline.py's business), so only the API
runs, not the event runtime.

    python bench/dashboard.py [--leads 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: make the project importable

from bench._rows import emit_row
from bench.pipeline import moto_api, operation
from infra.project import PROJECT_ROOT

STACK_LOG = PROJECT_ROOT / "var" / "bench" / "dashboard-stack.log"
KINDS = ("team_alert", "customer_confirmation")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def seed(endpoint: str, stage: dict[str, str], count: int) -> list[str]:
    """`count` leads over the last 7 days, each with a delivered team alert and confirmation."""
    from chalicelib.store.deliveries import DeliveryKey
    from chalicelib.store.items import to_item
    from devstack.provision import local_client

    dynamodb = local_client("dynamodb", endpoint)
    now = datetime.now(UTC)
    leads: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    ids: list[str] = []
    for i in range(count):
        created = now - timedelta(seconds=i * 7 * 86400 / count)
        lead_id = uuid.uuid4().hex
        ids.append(lead_id)
        email = f"bench.{i}@example.com"
        leads.append({"id": lead_id, "created_at": iso(created), "listing": "lead", "status": "received",
                      "source": ("website", "fair", "partner")[i % 3], "name": f"Bench Lead {i}", "email": email,
                      "message": "Please call me back about the offer. " * 3})
        for kind, recipient in zip(KINDS, ("team@leadflow.example", email), strict=True):
            sent, done = created + timedelta(seconds=1), created + timedelta(seconds=2)
            deliveries.append({
                "delivery_id": DeliveryKey(lead_id, kind, recipient).delivery_id, "lead_id": lead_id, "kind": kind,
                "recipient": recipient, "status": "delivered", "message_id": f"bench-{uuid.uuid4().hex}",
                "created_at": iso(created), "updated_at": iso(done), "sent_at": iso(sent), "attempts": 1,
                "history": [{"status": "queued", "at": iso(created)}, {"status": "sent", "at": iso(sent)},
                            {"status": "delivered", "at": iso(done)}],
            })
    for table, items in ((stage["LEADS_TABLE"], leads), (stage["DELIVERIES_TABLE"], deliveries)):
        for start in range(0, len(items), 25):
            request = {table: [{"PutRequest": {"Item": to_item(item)}} for item in items[start : start + 25]]}
            while request:
                request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return ids


def scans_recorded(endpoint: str) -> Counter[str]:
    raw = moto_api(endpoint, "download-recording", method="GET").decode()
    calls: Counter[str] = Counter()
    for line in raw.splitlines():
        if line.strip():
            entry = json.loads(line)
            if "/moto-api/" not in entry.get("url", ""):
                calls[operation(entry)] += 1
    return calls


def measure(page: Any, url: str, lead_id: str) -> dict[str, float]:
    """One round: navigation -> leads, list -> detail, detail -> health (ms)."""
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url + "#/leads")
    page.wait_for_selector("#lead-rows tr:nth-child(50)")
    leads_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    page.evaluate(f"location.hash = '#/leads/{lead_id}'")
    page.wait_for_selector(".notifications .notification:nth-child(2)")
    detail_ms = (time.perf_counter() - started) * 1000
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url + "#/health")
    page.wait_for_selector("#w-24h")
    health_ms = (time.perf_counter() - started) * 1000
    return {"leads": leads_ms, "detail": detail_ms, "health": health_ms}


def transfer_sizes(page: Any, url: str) -> tuple[int, int]:
    """Bytes of the page's own files, and of everything the leads view loads (its first API page too)."""
    sizes: dict[str, int] = {}

    def seen(response: Any) -> None:
        with contextlib.suppress(Exception):  # a redirect or an aborted request has no body
            sizes[response.url] = len(response.body())

    page.goto("about:blank")
    page.on("response", seen)
    page.goto(url + "#/leads")
    page.wait_for_selector("#lead-rows tr:nth-child(50)")
    page.wait_for_timeout(200)
    page.remove_listener("response", seen)
    own = sum(size for address, size in sizes.items() if "/admin" in address)
    return own, sum(sizes.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from devstack.provision import stage_environment
    from devstack.stack import LocalStack, StackConfig, free_port
    from tests.support.browser import launched, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"dashboard bench needs a browser: {reason}")
    stage = stage_environment("local")
    # Seeding computes the ledger's delivery ids here, as the worker does: with the stage's key.
    os.environ.update({name: stage[name] for name in ("LEADFLOW_STAGE", "HMAC_KEY") if name in stage})
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        os.environ["MOTO_RECORDER_FILEPATH"] = str(Path(tmp) / "recording.jsonl")
        STACK_LOG.parent.mkdir(parents=True, exist_ok=True)
        STACK_LOG.write_bytes(b"")
        config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=Path(tmp) / "outbox",
                             log_path=STACK_LOG, with_viewer=False, with_runtime=False, quiet=True)
        with LocalStack(config), launched(Path(tmp) / "profile") as context:
            started = time.perf_counter()
            ids = seed(config.aws_endpoint, stage, args.leads)
            print(f"seeded {len(ids)} leads and {2 * len(ids)} deliveries in {time.perf_counter() - started:.1f} s")
            url = config.api_url + "/admin"
            page = context.new_page()
            page.goto(url)
            page.evaluate(f"sessionStorage.setItem('leadflow.admin-token', {json.dumps(config.admin_token)})")
            page.reload()
            measure(page, url, ids[3])  # warm the API's imports and clients
            moto_api(config.aws_endpoint, "reset-recording")
            moto_api(config.aws_endpoint, "start-recording")
            rounds = [measure(page, url, ids[3 + i]) for i in range(args.rounds)]
            own, total = transfer_sizes(page, url)
            moto_api(config.aws_endpoint, "stop-recording")
            calls = scans_recorded(config.aws_endpoint)

    def med(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    note = f"{args.leads} leads, {2 * args.leads} deliveries"
    emit_row("dashboard", "navigation -> first page of leads rendered", med("leads"), "ms", "< 1000 ms", note,
             met=med("leads") < 1000)
    emit_row("dashboard", "list -> a lead's detail rendered", med("detail"), "ms", "< 300 ms", note,
             met=med("detail") < 300)
    emit_row("dashboard", "navigation -> health view rendered", med("health"), "ms", "< 1000 ms", note,
             met=med("health") < 1000)
    emit_row("dashboard", "page transfer (HTML + JS + CSS)", own / 1024, "KiB", "< 100 KiB",
             "with the first page of leads", total / 1024, met=own < 100 * 1024)
    emit_row("dashboard", "Scan calls while using the dashboard", calls["Scan"], "calls", "0",
             f"{sum(calls.values())} calls in all", met=calls["Scan"] == 0)
    print("calls by operation: " + ", ".join(f"{name} {count}" for name, count in calls.most_common()))


if __name__ == "__main__":
    main()
