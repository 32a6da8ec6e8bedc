"""Pipeline benchmark: POST /leads -> both emails in the outbox, on the local stack.

Posts N leads at a steady rate and reports p50/p99 of the time from the POST
to the second email's file in the outbox, the sustained leads/s with nothing
lost, the AWS calls per lead counted at the emulator (moto's request
recorder), and the time to render one email. Reference numbers measured in
the same run: the POST /leads response time alone (a floor for the whole
pipeline) and the event-source polling calls (what Lambda's pollers would
make, not the app). The burst runs twice, each on a stack of its own: with the
emulator split by service (devstack/endpoints.py, what `make run` starts) and,
as the reference that survives machine noise, with it as one process.

    python bench/pipeline.py [--leads 200] [--rate 25]
"""

from __future__ import annotations

import argparse
import base64
import email
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rows import emit_row
from bench._stack_cpu import CallCost, CpuMeter, call_cost, mean_cost, paused

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_LOG = PROJECT_ROOT / "var" / "bench" / "pipeline-stack.log"

# Calls Lambda's event source mappings make on the app's behalf (the local
# runtime makes them here): reported apart from the app's own calls.
POLLER_OPERATIONS = frozenset(
    {"GetRecords", "GetShardIterator", "DescribeStream", "ListStreams", "ReceiveMessage", "DeleteMessage",
     "DeleteMessageBatch", "ListShards"}
)


def operation(entry: dict) -> str:
    """The AWS operation of a recorded request (JSON, query and REST protocols)."""
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    action = urllib.parse.parse_qs(request_body(entry)).get("Action")
    if action:
        return action[0]
    path = urllib.parse.urlsplit(entry.get("uri") or entry.get("url") or "").path
    if "/v2/email/outbound-emails" in path:
        return "SendEmail"
    if entry.get("method") == "PUT":
        return "S3 PutObject"
    return f"{entry.get('method', '')} {path}"


def moto_api(endpoint: str, path: str, method: str = "POST") -> bytes:
    """One recorder call to every process of the emulator (devstack/endpoints.py); their answers joined."""
    from devstack.endpoints import emulator_endpoints

    answers = []
    for url in emulator_endpoints(endpoint):
        data = b"" if method == "POST" else None
        request = urllib.request.Request(url + "/moto-api/recorder/" + path, method=method, data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.append(response.read().rstrip(b"\n"))
    return b"\n".join(answers)


def request_body(entry: dict) -> str:
    body = entry.get("body") or ""
    return base64.b64decode(body).decode("utf-8", "replace") if entry.get("body_encoded") else str(body)


def is_tracking(entry: dict, name: str, deliveries_table: str) -> bool:
    """A call made to track an email after it was sent (issue 5), not to deliver it:
    an audit-log object, or a delivery status moved by SES feedback. The send
    path's own ledger writes carry the claim token; feedback's never do."""
    if name == "S3 PutObject":
        return True
    body = request_body(entry)
    return name in {"UpdateItem", "Query"} and deliveries_table in body and "claim_token" not in body


def count_calls(endpoint: str, deliveries_table: str) -> tuple[Counter[str], Counter[str]]:
    """Recorded calls by purpose ("deliver", "track", "poll") and the app's calls by operation."""
    raw = moto_api(endpoint, "download-recording", method="GET").decode()
    by_purpose: Counter[str] = Counter()
    by_operation: Counter[str] = Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if "/moto-api/" in entry.get("url", ""):
            continue
        name = operation(entry)
        if name in POLLER_OPERATIONS:
            by_purpose["poll"] += 1
            continue
        by_purpose["track" if is_tracking(entry, name, deliveries_table) else "deliver"] += 1
        by_operation[name] += 1
    return by_purpose, by_operation


def post(api_url: str, index: int, run: str) -> tuple[str, float, float]:
    body = {"name": f"Bench {index}", "email": f"bench.{run}.{index}@example.com", "message": "benchmark"}
    request = urllib.request.Request(
        api_url + "/leads", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    started = time.time()
    with urllib.request.urlopen(request, timeout=30) as response:
        lead_id = json.load(response)["id"]
    return lead_id, started, time.time() - started


def render_time_ms(iterations: int = 2000) -> float:
    from chalicelib.email.rendering import render

    context = {
        "lead": {"id": "x" * 32, "name": "Ada <b>", "email": "ada@example.com", "message": "hello " * 50,
                 "source": "website", "created_at": "2026-01-01T00:00:00.000Z", "metadata": {"plan": "pro"}},
        "enrichment": {"history": {"count": 2, "more": False, "last_at": "2025-12-01", "last_excerpt": "hi"}},
    }
    render("team_alert", context)  # compile once, as a warm container has
    started = time.perf_counter()
    for i in range(iterations):
        render("team_alert" if i % 2 else "customer_confirmation", context)
    return (time.perf_counter() - started) / iterations * 1000


# lead id -> (when its POST began, how long it took); lead id -> when its last email landed.
Posts = dict[str, tuple[float, float]]
Done = dict[str, float]


def drive(api_url: str, outbox: Path, count: int, rate: float | None, run: str, per_lead: int,
          timeout: float) -> tuple[Posts, Done]:
    """POST `count` leads (at `rate` per second, or as fast as 8 clients go) and wait for their emails."""
    posts: dict[str, tuple[float, float]] = {}
    began = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        for i in range(count):
            futures.append(pool.submit(post, api_url, i, run))
            if rate:
                time.sleep(max(0.0, began + (i + 1) / rate - time.time()))
        for future in futures:
            lead_id, started, took = future.result()
            posts[lead_id] = (started, took)
    return posts, _complete_leads(outbox, posts, per_lead, time.time() + timeout)


def fixed_call_cost(stack: Any, stage: dict[str, str]) -> CallCost:
    """The CPU of one trivial AWS call, caller and emulator, measured with the API and the runtime
    paused: a GetItem of a missing key and a GetQueueUrl (answered without Flask), a GetTopicAttributes (with)."""
    import boto3

    from devstack.events.clients import cheaper_user_agent
    from devstack.provision import LOCAL_REGION

    cheaper_user_agent()  # the runtime's callers have it too
    config = stack.config
    emulators = {p.pid for p in stack.processes[:stack.emulator_count]}
    dynamodb_pid = stack.processes[0].pid
    main_pid = stack.processes[stack.emulator_count - 1].pid

    def client(service: str, endpoint: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=LOCAL_REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    dynamodb = client("dynamodb", config.dynamodb_endpoint)
    sqs, sns = client("sqs", config.aws_endpoint), client("sns", config.aws_endpoint)
    calls = {
        "DynamoDB GetItem": (lambda: dynamodb.get_item(TableName=stage["LEADS_TABLE"], Key={"id": {"S": "none"}}),
                             dynamodb_pid),
        "SQS GetQueueUrl": (lambda: sqs.get_queue_url(QueueName=stage["NOTIFICATIONS_QUEUE"]), main_pid),
        "SNS GetTopicAttributes": (lambda: sns.get_topic_attributes(TopicArn=stage["LEAD_EVENTS_TOPIC_ARN"]),
                                   main_pid),
    }
    with paused([p.pid for p in stack.processes if p.pid not in emulators]):
        costs = call_cost(list(calls.values()))
    print("a trivial call, ms of CPU in the caller + in the emulator: " + ", ".join(
        f"{name} {cost.client_ms:.2f} + {cost.server_ms:.2f}" for name, cost in zip(calls, costs, strict=True)))
    return mean_cost(costs)


def recorded_drive(config: Any, deliveries_table: str, count: int, rate: float | None, run: str, per_lead: int,
                   timeout: float) -> tuple[Posts, Done, Counter[str], Counter[str]]:
    """drive() with moto's recorder on: the posts, the leads done, and their calls (count_calls)."""
    moto_api(config.aws_endpoint, "reset-recording")
    moto_api(config.aws_endpoint, "start-recording")
    posts, done = drive(config.api_url, config.outbox, count, rate, run, per_lead, timeout)
    time.sleep(3)  # let delivery feedback for the last leads finish before counting calls
    moto_api(config.aws_endpoint, "stop-recording")
    return (posts, done, *count_calls(config.aws_endpoint, deliveries_table))


def metered_drive(stack: Any, count: int, run: str, per_lead: int,
                  timeout: float) -> tuple[Posts, Done, float]:
    """A burst (drive() at no set rate), and the CPU seconds the stack's processes spent on it."""
    meter = CpuMeter([p.pid for p in stack.processes])
    meter.start()
    posts, done = drive(stack.config.api_url, stack.config.outbox, count, None, run, per_lead, timeout)
    return posts, done, meter.stop()


def report_cpu(rate: float, leads: int, cpu: float, single_leads: int, single_cpu: float, cost: CallCost,
               calls_per_lead: float, app_calls_per_lead: float) -> None:
    cores = os.cpu_count() or 1
    goal_rate = 25
    budget_ms = cores * 1000 / goal_rate
    per_lead_ms = cpu / max(1, leads) * 1000
    single_ms = single_cpu / max(1, single_leads) * 1000
    round_trips_ms = cost.total_ms * calls_per_lead
    print(f"split burst: {cpu:.1f} CPU-s over the stack's processes for {leads} leads")
    emit_row("pipeline", "CPU per lead in the burst, every stack process (split)", per_lead_ms, "ms",
             f"<= {budget_ms:.0f} ms ({cores} cores / {goal_rate} leads/s)", "the same burst, emulator as one process",
             single_ms, met=per_lead_ms <= budget_ms)
    ceiling = cores * 1000 / per_lead_ms
    emit_row("pipeline", "burst ceiling on this machine (cores / CPU per lead)", ceiling, "leads/s",
             f">= {goal_rate}", "the split burst measured", rate, met=ceiling >= goal_rate)
    emit_row("pipeline", "fixed CPU of one AWS call (trivial request: caller + emulator)", cost.total_ms, "ms",
             "none", "the caller's part (botocore)", cost.client_ms)
    emit_row("pipeline", "AWS calls per lead in a burst (the app's and the pollers')", calls_per_lead, "calls",
             "none", "the app's own (deliver + track)", app_calls_per_lead)
    emit_row("pipeline", "round trips alone per lead (fixed cost x calls)", round_trips_ms, "ms",
             f"<= {budget_ms:.0f} ms leaves room for the work", "CPU per lead in the burst", per_lead_ms)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="steady rate for the latency phase (leads/s)")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()

    from devstack.provision import stage_environment
    from devstack.stack import LocalStack, StackConfig, free_port

    stage = stage_environment("local")
    team = [a.strip() for a in stage["TEAM_ADDRESSES"].split(",") if a.strip()]
    per_lead = len(team) + 1
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as tmp:
        os.environ["MOTO_RECORDER_FILEPATH"] = str(Path(tmp) / "recording.jsonl")
        # The stack's own output (thousands of per-request lines) goes to a file, not the terminal.
        STACK_LOG.parent.mkdir(parents=True, exist_ok=True)
        STACK_LOG.write_bytes(b"")
        print(f"stack logs: {STACK_LOG.relative_to(PROJECT_ROOT)}", flush=True)

        def started(split: bool, name: str) -> LocalStack:
            config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=Path(tmp) / name,
                                 log_path=STACK_LOG, with_viewer=False, split_emulator=split)
            stack = LocalStack(config)
            stack.start()
            for i in range(3):  # warm the API, the runtime's handlers and the clients
                post(config.api_url, -1 - i, "warm")
            time.sleep(3)
            return stack

        # The reference first: the same burst with the emulator as one process, on a stack of its own.
        single = started(False, "single")
        try:
            single_burst, single_done, single_cpu = metered_drive(single, args.leads, "single", per_lead,
                                                                  args.timeout)
        finally:
            single.stop()
        stack = started(True, "split")
        config = stack.config
        try:
            steady, steady_done, by_purpose, by_operation = recorded_drive(
                config, stage["DELIVERIES_TABLE"], args.leads, args.rate, "steady", per_lead, args.timeout)
            stages = read_stages(config.dynamodb_endpoint, stage, config.outbox, steady, per_lead)
            cost = fixed_call_cost(stack, stage)
            burst, burst_done, burst_cpu = metered_drive(stack, args.leads, "burst", per_lead, args.timeout)
            # Counted in a smaller burst of its own: recording costs the emulator CPU.
            counted, _, counted_calls, _ = recorded_drive(config, stage["DELIVERIES_TABLE"], max(20, args.leads // 4),
                                                          None, "counted", per_lead, args.timeout)
        finally:
            stack.stop()

    latencies = sorted((done - steady[lead][0]) * 1000 for lead, done in steady_done.items())
    floor_p50 = statistics.median(sorted(took * 1000 for _, took in steady.values()))
    print(f"steady: {len(steady)} leads at {args.rate}/s, {len(steady_done)} complete")
    print(f"steady, p50 ms after the POST by stage: {stage_line(stages)}")
    emit_row("pipeline", f"p50 POST -> both emails ({args.rate:g} leads/s)", percentile(latencies, 0.5), "ms",
             "< 500 ms", "p50 POST /leads response", floor_p50, met=percentile(latencies, 0.5) < 500)
    emit_row("pipeline", f"p99 POST -> both emails ({args.rate:g} leads/s)", percentile(latencies, 0.99), "ms",
             "< 2000 ms", "p50 POST /leads response", floor_p50, met=percentile(latencies, 0.99) < 2000)
    single_rate, single_lost = burst_rate("burst, emulator as one process", single_burst, single_done)
    rate, lost = burst_rate("burst, emulator split by service", burst, burst_done)
    emit_row("pipeline", "sustained leads/s, nothing lost (burst, emulator split)", rate, "leads/s", ">= 25",
             "the same burst, emulator as one process", single_rate, met=lost == 0 and rate >= 25)
    print(f"single-process burst: {single_lost} lost; POST /leads accepted per s in the split burst: "
          f"{len(burst) / (max(s for s, _ in burst.values()) - min(s for s, _ in burst.values()) + 1e-9):.1f}")
    leads = max(1, len(steady))
    print("app calls per lead by operation: " + ", ".join(
        f"{name} {count / leads:.2f}" for name, count in by_operation.most_common()))
    deliver = by_purpose["deliver"] / leads
    emit_row("pipeline", "AWS calls per lead to deliver both emails (API, stream, worker)", deliver, "calls",
             "<= 10", "event-source polling calls per lead", by_purpose["poll"] / leads, met=deliver <= 10)
    emit_row("pipeline", "AWS calls per lead to track them (SES feedback, audit log)", by_purpose["track"] / leads,
             "calls", "none (added by tracking)", "calls to deliver", deliver)
    app_calls = (by_purpose["deliver"] + by_purpose["track"]) / leads
    report_cpu(rate, len(burst_done), burst_cpu, len(single_done), single_cpu, cost,
               sum(counted_calls.values()) / max(1, len(counted)), app_calls)
    render_ms = render_time_ms()
    emit_row("pipeline", "template render per email", render_ms, "ms", "< 1 ms", "none", None, met=render_ms < 1)


# Where a lead's time goes at the steady rate, each as ms after its POST began.
STAGES = ("POST answered", "lead stored", "first email claimed", "first email out", "last email claimed",
          "last email out")


def stage_times(posts: dict[str, tuple[float, float]], created: dict[str, float], claims: dict[str, list[float]],
                emails: dict[str, list[float]], per_lead: int) -> dict[str, list[float]]:
    """Each stage's times (ms after the POST) over the leads with every email out: the API's
    own clock (the lead's created_at, set just before it is written), the worker's (each
    ledger row's claimed_at) and the outbox's (each email's file)."""
    found: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for lead, (started, took) in posts.items():
        claimed, sent = sorted(claims.get(lead, [])), sorted(emails.get(lead, []))
        if lead not in created or len(claimed) < per_lead or len(sent) < per_lead:
            continue
        moments = (started + took, created[lead], claimed[0], sent[0], claimed[-1], sent[-1])
        for stage, moment in zip(STAGES, moments, strict=True):
            found[stage].append((moment - started) * 1000)
    return found


def stage_line(times: dict[str, list[float]]) -> str:
    return ", ".join(f"{stage} {percentile(sorted(values), 0.5):.0f}" for stage, values in times.items())


def read_stages(dynamodb_endpoint: str, stage: dict[str, str], outbox: Path, posts: dict[str, tuple[float, float]],
                per_lead: int) -> dict[str, list[float]]:
    """The steady phase's stage times, read back from the tables and the outbox once it is over."""
    import datetime as dt

    import boto3

    from devstack.provision import LOCAL_REGION

    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name=LOCAL_REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def scan(table: str, fields: str) -> list[dict[str, Any]]:
        pages = client.get_paginator("scan").paginate(TableName=table, ProjectionExpression=fields)
        return [item for page in pages for item in page["Items"]]

    def epoch(iso: str) -> float:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()

    created = {i["id"]["S"]: epoch(i["created_at"]["S"]) for i in scan(stage["LEADS_TABLE"], "id, created_at")}
    claims: dict[str, list[float]] = {}
    for row in scan(stage["DELIVERIES_TABLE"], "lead_id, claimed_at"):
        if "claimed_at" in row:
            claims.setdefault(row["lead_id"]["S"], []).append(float(row["claimed_at"]["N"]))
    emails: dict[str, list[float]] = {}
    for path in outbox.glob("*.eml"):
        with open(path, "rb") as handle:
            emails.setdefault(_lead_of(email.message_from_binary_file(handle)), []).append(path.stat().st_mtime)
    return stage_times(posts, created, claims, emails, per_lead)


def burst_rate(name: str, posts: dict[str, tuple[float, float]], done: dict[str, float]) -> tuple[float, int]:
    """Leads/s from the first POST to the last email (0 when any lead is missing an email), and how many."""
    lost = len(posts) - len(done)
    span = max(done.values()) - min(s for s, _ in posts.values()) if done else float("inf")
    print(f"{name}: {len(posts)} leads posted at once, {len(done)} complete, {lost} lost, {span:.1f} s")
    return (len(done) / span if lost == 0 else 0.0), lost


def _complete_leads(
    outbox: Path, posts: dict[str, tuple[float, float]], per_lead: int, deadline: float
) -> dict[str, float]:
    """lead id -> time its last email landed, for leads with every email in the outbox.
    Each file is parsed once (remembered by name): the bench shares the stack's cores."""
    seen: dict[str, tuple[str, float]] = {}  # file name -> (lead id, mtime)
    while True:
        for path in outbox.glob("*.eml"):
            if path.name in seen:
                continue
            with open(path, "rb") as handle:
                message = email.message_from_binary_file(handle)
            seen[path.name] = (_lead_of(message), path.stat().st_mtime)
        arrivals: dict[str, list[float]] = {}
        for lead_id, landed in seen.values():
            if lead_id in posts:
                arrivals.setdefault(lead_id, []).append(landed)
        complete = {lead: max(times) for lead, times in arrivals.items() if len(times) >= per_lead}
        if len(complete) == len(posts) or time.time() > deadline:
            return complete
        time.sleep(0.5)


def _lead_of(message: email.message.Message) -> str:
    """The lead id printed in both templates ("Lead id: X" / "Reference: X")."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode("utf-8", "replace")
            for marker in ("Lead id: ", "Reference: "):
                if marker in text:
                    return text.split(marker, 1)[1].split()[0]
    return ""


if __name__ == "__main__":
    main()
