"""Fault-injection soak: drive leads through the local stack while things go
wrong, then reconcile every lead against the ledger and the outbox.

    python -m devstack.soak --leads 500            (make soak)
    python -m devstack.soak --leads 40 --quick     (the profile `make test` runs)

Faults (rates in --faults, see devstack/faults.py) are injected in the event
runtime; halfway through, the runtime is killed (SIGKILL) and started again.
At the end, dead letters are redriven once and everything is reconciled:
each lead must have exactly one team alert per team address and one
confirmation in the outbox, or a recorded `suppressed`/`failed` with a
reason; zero duplicates; zero leads without an outcome.

Alongside the leads, a sender posts order confirmations (POST
/notifications) with a callback URL on a local receiver that answers 500
now and then and, as the README asks of a receiver, de-duplicates by event
id: every notification must end with its latest status acknowledged (zero
lost callbacks), an event sent again must be the very event acknowledged
before (a runtime killed between the receiver's 2xx and its record posts it
again: callbacks are at least once), and none older than one already
acknowledged.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.events.topics import TAP_PREFIX
from devstack.provision import local_client, stage_environment
from devstack.stack import LocalStack, StackConfig, free_port
from infra.project import PROJECT_ROOT

# Rates are per call: a crash fails the whole batch it happens in (as on
# Lambda), so crash rates are kept lower than the per-send SES faults.
DEFAULT_FAULTS = {
    "ses_throttle": 0.05,
    "ses_5xx": 0.03,
    "crash_before_send": 0.01,
    "crash_after_send": 0.01,
    "duplicate_stream": 0.1,
    "duplicate_sqs": 0.1,
    "enrichment_throttle": 0.1,
    "seed": 7,
}
# The soak shortens the notifications and callbacks queues' visibility timeout
# (production: 60 s) so a batch that crashed comes around in seconds, inside the
# soak's settle time; retry semantics are unchanged.
SOAK_VISIBILITY_TIMEOUT = 5
REDRIVE_ROUNDS = 5
SOAK_PHONE = "+44 20 7946 0958"
# A full address: neither side masked (masking leaves `a***@e***.com`).
FULL_ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+-]*[A-Za-z0-9]@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
DONE_STATUSES = frozenset({"sent", "delivered", "bounced", "complained", "suppressed", "failed"})


@dataclass
class Expected:
    lead_id: str
    kind: str
    recipient: str

    @property
    def delivery_id(self) -> str:
        from chalicelib.store.deliveries import DeliveryKey

        return DeliveryKey(self.lead_id, self.kind, self.recipient).delivery_id


# A fifth as many notifications (POST /notifications, with callbacks) as leads.
NOTIFICATIONS_PER_LEAD = 0.2
RECEIVER_FAILURE_RATE = 0.2


class CallbackReceiver:
    """The sender's callback endpoint: answers 500 at RECEIVER_FAILURE_RATE, records what it acknowledged."""

    def __init__(self, seed: int = 7) -> None:
        import random
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.acknowledged: list[dict[str, Any]] = []  # the first 2xx of each event id
        self.redelivered: list[dict[str, Any]] = []  # an event id it had acknowledged already
        self.requests = 0
        lock = threading.Lock()
        chance = random.Random(seed)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with lock:
                    receiver.requests += 1
                    status = 500 if chance.random() < RECEIVER_FAILURE_RATE else 200
                    if status == 200:
                        seen = any(e["id"] == event["id"] for e in receiver.acknowledged)
                        (receiver.redelivered if seen else receiver.acknowledged).append(event)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def post_notification(api_url: str, key: str, index: int, run: str, callback_url: str) -> str:
    body = {"kind": "order_confirmation", "recipient": f"soak.{run}.order{index}@example.com",
            "reference": f"order-{index}", "data": {"order_id": f"S-{index}"}, "callback_url": callback_url}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"{run}-order-{index}"}
    return post_with_retries(api_url + "/notifications", body, headers, f"notification {index}")


def post_with_retries(url: str, body: dict[str, Any], headers: dict[str, str], what: str) -> str:
    """POST a JSON body and return the answer's id, retried on a connection error (safe: the
    headers carry an Idempotency-Key)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **headers}
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(json.load(response)["id"])
        except OSError:
            time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"{what} could not be posted")


def notification_state(api_url: str, key: str, notification_id: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{api_url}/notifications/{notification_id}",
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def callbacks_settled(states: list[dict[str, Any]]) -> bool:
    return all(s["status"] in DONE_STATUSES and (s.get("callback") or {}).get("acknowledged") == s["status"]
               for s in states)


def reconcile_callbacks(report: Report, states: list[dict[str, Any]], acknowledged: list[dict[str, Any]],
                        redelivered: list[dict[str, Any]]) -> None:
    from chalicelib.core.states import DeliveryStatus

    report.notifications = len(states)
    report.callbacks_acknowledged = len(acknowledged)
    report.callbacks_redelivered = len(redelivered)
    first = {event["id"]: event for event in acknowledged}
    # The same id with other content would defeat the receiver's de-duplication.
    report.callbacks_duplicated = sorted({e["id"] for e in redelivered if first.get(e["id"]) != e})
    report.callbacks_lost = sorted(
        s["id"] for s in states if (s.get("callback") or {}).get("acknowledged") != s["status"]
        or not any(e["notification_id"] == s["id"] and e["status"] == s["status"] for e in acknowledged)
    )
    lost = set(report.callbacks_lost)
    # What the sender's side shows for each lost one, so a failed soak says where it stopped.
    report.lost_callback_details = [
        f"{s['id']}: status {s['status']}, callback {json.dumps(s.get('callback'))}, acknowledged "
        f"{[e['status'] for e in acknowledged if e['notification_id'] == s['id']]}"
        for s in states if s["id"] in lost
    ]
    for state in states:
        ranks = [DeliveryStatus(e["status"]).rank for e in acknowledged if e["notification_id"] == state["id"]]
        if ranks != sorted(set(ranks)):
            report.callbacks_out_of_order.append(state["id"])


@dataclass
class Report:
    leads: int = 0
    expected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    leads_without_outcome: set[str] = field(default_factory=set)
    failed_reasons: Counter[str] = field(default_factory=Counter)
    redriven: int = 0
    faults: str = ""
    log_lines: int = 0
    personal_data_in_logs: list[str] = field(default_factory=list)
    notifications: int = 0
    callbacks_acknowledged: int = 0
    callbacks_redelivered: int = 0
    callbacks_lost: list[str] = field(default_factory=list)
    lost_callback_details: list[str] = field(default_factory=list)
    callbacks_duplicated: list[str] = field(default_factory=list)
    callbacks_out_of_order: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.duplicates and not self.lost and not self.leads_without_outcome and not self.personal_data_in_logs
            and not self.callbacks_lost and not self.callbacks_duplicated and not self.callbacks_out_of_order
        )

    def table(self) -> str:
        rows = [
            ("leads posted", self.leads),
            ("emails expected", self.expected),
            *((f"  outcome: {name}", count) for name, count in sorted(self.outcomes.items())),
            ("dead letters redriven", self.redriven),
            ("duplicated emails", len(self.duplicates)),
            ("lost emails", len(self.lost)),
            ("leads without an outcome", len(self.leads_without_outcome)),
            ("notifications posted (with callbacks)", self.notifications),
            ("callbacks acknowledged", self.callbacks_acknowledged),
            ("lost callbacks (latest status not acknowledged)", len(self.callbacks_lost)),
            ("callbacks sent again after their 2xx (same event)", self.callbacks_redelivered),
            ("events sent again with other content", len(self.callbacks_duplicated)),
            ("callbacks out of order", len(self.callbacks_out_of_order)),
            ("log lines scanned", self.log_lines),
            ("log lines with a full address or phone", len(self.personal_data_in_logs)),
        ]
        lines = ["| reconciliation | count |", "| --- | ---: |"]
        lines += [f"| {name} | {count} |" for name, count in rows]
        for reason, count in self.failed_reasons.most_common():
            lines.append(f"| failed: {reason[:70]} | {count} |")
        lines += [f"lost callback: {detail}" for detail in self.lost_callback_details]
        return "\n".join(lines)


def use_stage_key(env: dict[str, str]) -> None:
    """The reconciliation computes delivery ids as the app does: with the stage's HMAC key."""
    from chalicelib.core.settings import get_settings

    for name in ("LEADFLOW_STAGE", "HMAC_KEY", "HMAC_KEY_SECRET"):
        if env.get(name):
            os.environ[name] = env[name]
    get_settings.cache_clear()


def post_lead(api_url: str, index: int, run: str) -> str:
    body = {
        "name": f"Soak Lead {index}",
        "email": f"soak.{run}.{index}@example.com",
        "message": f"Soak message {index}",
        "phone": SOAK_PHONE,
        "source": "soak",
    }
    return post_with_retries(api_url + "/leads", body, {"Idempotency-Key": f"{run}-{index}"}, f"lead {index}")


def personal_data_lines(log_text: str) -> list[str]:
    """Log lines that hold a full email address or the soak's phone number."""
    phone_digits = re.sub(r"\D", "", SOAK_PHONE)
    found = []
    for line in log_text.splitlines():
        if FULL_ADDRESS_RE.search(line) or phone_digits in re.sub(r"\D", "", line):
            found.append(line[:200])
    return found


def shorten_visibility(endpoint: str, queue: str) -> None:
    sqs = local_client("sqs", endpoint)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(SOAK_VISIBILITY_TIMEOUT)})


def outbox_counts(outbox: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        with open(path, "rb") as handle:
            ref = email.message_from_binary_file(handle).get("X-Leadflow-Ref")
        if ref:
            counts[str(ref)] += 1
    return counts


def ledger(endpoint: str, table: str) -> dict[str, dict[str, Any]]:
    from chalicelib.store.items import from_item

    client = local_client("dynamodb", endpoint)
    rows: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            row = from_item(item)
            rows[row["delivery_id"]] = row
    return rows


def expected_emails(lead_ids: list[str], env: dict[str, str], run: str, index_of: dict[str, int]) -> list[Expected]:
    team = [a.strip() for a in env["TEAM_ADDRESSES"].split(",") if a.strip()]
    out: list[Expected] = []
    for lead_id in lead_ids:
        out += [Expected(lead_id, "team_alert", address) for address in team]
        out.append(Expected(lead_id, "customer_confirmation", f"soak.{run}.{index_of[lead_id]}@example.com"))
    return out


def settled(expected: list[Expected], rows: dict[str, dict[str, Any]]) -> bool:
    return all(rows.get(e.delivery_id, {}).get("status") in DONE_STATUSES for e in expected)


QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed")


def held(sqs: Any, url: str) -> int:
    """Every message a queue holds: visible, in flight or delayed."""
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
    return sum(int(found.get(name, 0)) for name in QUEUE_COUNTS)


def waiting_for_a_redrive(sqs: Any, queue_url: str, dlq_url: str) -> bool:
    """True when the notifications queue holds nothing at all (visible, in flight or delayed)
    and its dead-letter queue holds something: only a redrive can move those emails on."""
    return held(sqs, queue_url) == 0 and held(sqs, dlq_url) > 0


def wait_until_settled(
    endpoint: str, table: str, expected: list[Expected], timeout: float, queues: tuple[str, str]
) -> dict[str, dict[str, Any]]:
    """The ledger once every expected email has an outcome, or at `timeout`; sooner when
    `queues` (the notifications queue and its DLQ) show that nothing moves until a redrive,
    twice in a row, a second apart."""
    sqs = local_client("sqs", endpoint)
    queue_url, dlq_url = (sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in queues)
    deadline = time.monotonic() + timeout
    rows = ledger(endpoint, table)
    stalled = 0
    while not settled(expected, rows) and time.monotonic() < deadline:
        stalled = stalled + 1 if waiting_for_a_redrive(sqs, queue_url, dlq_url) else 0
        if stalled >= 2:
            break
        time.sleep(1)
        rows = ledger(endpoint, table)
    return rows


def redrive_notifications(stack: LocalStack) -> int:
    """Send every notifications dead letter back with the documented tool (`make dlq`),
    as an operator would; return how many it redrove."""
    done = subprocess.run(
        [sys.executable, "-m", "ops.dlq", "redrive", "--all", "--queue", "notifications"],
        cwd=PROJECT_ROOT,
        env={**stack.env, "LEADFLOW_AWS_PORT": str(stack.config.aws_port)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"redrive failed:\n{done.stdout}\n{done.stderr}")
    return sum(1 for line in done.stdout.splitlines() if line.split()[1:2] == ["redriven"])


def reconcile(expected: list[Expected], rows: dict[str, dict[str, Any]], outbox: Counter[str]) -> Report:
    report = Report(leads=len({e.lead_id for e in expected}), expected=len(expected))
    for item in expected:
        row = rows.get(item.delivery_id)
        mailed = outbox.get(item.delivery_id, 0)
        if mailed > 1:
            report.duplicates.append(item.delivery_id)
        status = (row or {}).get("status")
        if status in {"sent", "delivered", "bounced", "complained"} and mailed == 1:
            report.outcomes[status] += 1
        elif status in {"suppressed", "failed"} and row and row.get("reason"):
            report.outcomes[f"{status}{' (mail went out once)' if mailed == 1 else ''}"] += 1
            report.failed_reasons[str(row["reason"])] += 1
        else:
            report.lost.append(item.delivery_id)
            report.leads_without_outcome.add(item.lead_id)
    return report


def run_soak(leads: int, rate: float, faults: dict[str, float], settle_timeout: float) -> Report:
    run = f"{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="leadflow-soak-") as tmp:
        log_path = Path(tmp) / "stack.log"
        config = StackConfig(
            aws_port=free_port(), api_port=free_port(), outbox=Path(tmp) / "outbox", log_path=log_path
        )
        os.environ["LEADFLOW_FAULTS"] = json.dumps(faults)
        stack = LocalStack(config)
        receiver = CallbackReceiver()
        try:
            stack.start()
            env = {**stage_environment(config.stage), **stack.env}
            use_stage_key(env)
            for queue in (env["NOTIFICATIONS_QUEUE"], env["CALLBACKS_QUEUE"]):
                shorten_visibility(config.aws_endpoint, queue)
            index_of: dict[str, int] = {}
            per_second = max(1, int(rate))
            orders = max(3, int(leads * NOTIFICATIONS_PER_LEAD))
            with ThreadPoolExecutor(max_workers=4) as pool:
                notification_ids = list(pool.map(
                    lambda i: post_notification(config.api_url, config.sender_key, i, run, receiver.url), range(orders)
                ))
                for start in range(0, leads, per_second):
                    batch = range(start, min(leads, start + per_second))
                    ids = pool.map(lambda i: post_lead(config.api_url, i, run), batch)
                    index_of.update({lead_id: index for index, lead_id in zip(batch, ids, strict=True)})
                    if start <= leads // 2 < start + per_second:
                        stack.restart_runtime(signal.SIGKILL)  # a crash, not a clean stop
                    time.sleep(1)
            expected = expected_emails(list(index_of), env, run, index_of)
            expected += [Expected(nid, "order_confirmation", f"soak.{run}.order{i}@example.com")
                         for i, nid in enumerate(notification_ids)]
            queues = (env["NOTIFICATIONS_QUEUE"], env["NOTIFICATIONS_DLQ"])
            rows = wait_until_settled(config.aws_endpoint, env["DELIVERIES_TABLE"], expected, settle_timeout, queues)
            redriven = 0
            for _ in range(REDRIVE_ROUNDS):
                if settled(expected, rows):
                    break
                redriven += redrive_notifications(stack)
                rows = wait_until_settled(
                    config.aws_endpoint, env["DELIVERIES_TABLE"], expected, settle_timeout, queues
                )
            report = reconcile(expected, rows, outbox_counts(config.outbox))
            report.leads = len(index_of)
            # Callbacks get the settle time, and longer (up to three times it) while the work
            # that leads to them is still queued. A killed runtime leaves it in flight: an SES
            # event it had taken from its SNS tap comes back after the tap's visibility (90 s)
            # and only then queues its callback; a callback whose lease it held waits out that
            # lease (30 s).
            sqs = local_client("sqs", config.aws_endpoint)
            callbacks_url, callbacks_dlq_url = (sqs.get_queue_url(QueueName=env[name])["QueueUrl"]
                                                for name in ("CALLBACKS_QUEUE", "CALLBACKS_DLQ"))
            upstream = [callbacks_url, *sqs.list_queues(QueueNamePrefix=TAP_PREFIX).get("QueueUrls", [])]
            started = time.monotonic()
            states = [notification_state(config.api_url, config.sender_key, n) for n in notification_ids]
            while not callbacks_settled(states):
                waited = time.monotonic() - started
                if waited >= 3 * settle_timeout or (
                    waited >= settle_timeout and not any(held(sqs, url) for url in upstream)
                ):
                    break
                time.sleep(1)
                states = [notification_state(config.api_url, config.sender_key, n) for n in notification_ids]
            reconcile_callbacks(report, states, list(receiver.acknowledged), list(receiver.redelivered))
            if report.callbacks_lost:
                report.lost_callback_details.append(
                    f"the callbacks queue holds {held(sqs, callbacks_url)}, its DLQ {held(sqs, callbacks_dlq_url)}"
                )
            report.redriven = redriven
            report.faults = json.dumps(faults)
        finally:
            os.environ.pop("LEADFLOW_FAULTS", None)
            stack.stop()
            receiver.close()
        log_text = log_path.read_text(errors="replace")
        report.log_lines = log_text.count("\n")
        report.personal_data_in_logs = personal_data_lines(log_text)
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20, help="leads posted per second")
    parser.add_argument("--faults", type=json.loads, default=DEFAULT_FAULTS)
    parser.add_argument("--settle-timeout", type=float, default=60)
    args = parser.parse_args(argv)
    report = run_soak(args.leads, args.rate, args.faults, args.settle_timeout)
    print(f"faults: {report.faults}")
    print(report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
