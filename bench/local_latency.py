"""Local event runtime latency: put_item -> stream handler, SQS send -> SQS handler.

    .venv/bin/python bench/local_latency.py [--events 200]

Starts its own emulator (free loopback port) and the event runtime on the
runtime tests' fixture app, then sends the events one at a time (each after
the previous one arrived, so this is latency, not throughput) and reports
p50/p99 from the write returning to the handler being invoked (the handler
stamps the time). It also reports the CPU the emulator and the runtime use
while idle, since the poll loops must stay light on a 2-core machine.

Floors, measured in the same run: the emulator round trip a perfect poller
could not beat (put_item then one GetRecords that returns the record; SQS
send then one receive), and the emulator's idle CPU before the runtime starts.
Results are BENCH_ROW lines (bench/run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: make the project importable

from bench._rows import emit_row
from devstack.provision import local_client
from devstack.stack import wait_for_http
from infra.project import PROJECT_ROOT
from tests.support.aws import free_port

FIXTURE_APP = PROJECT_ROOT / "tests" / "support" / "fixture_app"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class RecordTail:
    """Follows the fixture app's record file: handler -> id -> invocation time."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.seen: dict[str, float] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            handle.seek(self.offset)
            for line in handle:
                if not line.endswith("\n"):
                    break
                self.offset += len(line.encode())
                entry = json.loads(line)
                for key in ids(entry):
                    self.seen.setdefault(key, entry["time"])

    def wait(self, key: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if key in self.seen:
                return self.seen[key]
            time.sleep(0.001)
        raise TimeoutError(f"{key} never reached its handler")


def ids(entry: dict[str, Any]) -> list[str]:
    records = entry["event"]["Records"]
    if entry["handler"] == "on_stream":
        return [r["dynamodb"]["Keys"]["id"]["S"] for r in records]
    return [json.loads(r["body"])["id"] for r in records]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(name: str, latencies_ms: list[float]) -> str:
    return (
        f"{name:<28} n={len(latencies_ms):<4} p50={percentile(latencies_ms, 50):6.1f} ms  "
        f"p90={percentile(latencies_ms, 90):6.1f} ms  p99={percentile(latencies_ms, 99):6.1f} ms  "
        f"max={max(latencies_ms):6.1f} ms  mean={statistics.fmean(latencies_ms):6.1f} ms"
    )


def create_resources(endpoint: str, suffix: str) -> dict[str, str]:
    dynamodb, sqs = local_client("dynamodb", endpoint), local_client("sqs", endpoint)
    table = dynamodb.create_table(
        TableName=f"bench-{suffix}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    queue = sqs.create_queue(QueueName=f"bench-{suffix}")["QueueUrl"]
    return {"table": table["TableName"], "stream_arn": table["LatestStreamArn"], "queue": f"bench-{suffix}",
            "queue_url": queue}


def measure(events: int, send: Any, tail: RecordTail, prefix: str) -> list[float]:
    latencies = []
    for i in range(events):
        key = f"{prefix}-{i}"
        sent = time.time()
        send(key)
        latencies.append((tail.wait(key) - sent) * 1000)
        time.sleep(0.01)
    return latencies


def stream_floor(dynamodb: Any, streams: Any, table: str, stream_arn: str, events: int) -> list[float]:
    """put_item, then one GetRecords from the record's position: the emulator's share alone."""
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    samples = []
    for i in range(events):
        started = time.perf_counter()
        dynamodb.put_item(TableName=table, Item={"id": {"S": f"floor-{i}"}})
        response = streams.get_records(ShardIterator=iterator)
        samples.append((time.perf_counter() - started) * 1000)
        assert response["Records"], "the floor read must see the record"
        iterator = response["NextShardIterator"]
    return samples


def sqs_floor(sqs: Any, queue_url: str, events: int) -> list[float]:
    samples = []
    for i in range(events):
        started = time.perf_counter()
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": f"floor-{i}"}))
        [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
        samples.append((time.perf_counter() - started) * 1000)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return samples


def idle_cpu(processes: dict[str, subprocess.Popen[bytes]], window: float) -> dict[str, float]:
    """Percent of one core each process used over `window` seconds of doing nothing."""
    before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
    time.sleep(window)
    return {name: (cpu_seconds(p.pid) - before[name]) / window * 100 for name, p in processes.items()}


def report(kind: str, latencies: list[float], floor: list[float], floor_text: str) -> None:
    for q, goal in ((50, 100.0), (99, 500.0)):
        value, reference = percentile(latencies, q), percentile(floor, q)
        emit_row("local_latency", f"p{q} {kind}", value, "ms", f"< {goal:.0f} ms", floor_text, reference,
                 value < goal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="local-latency-"))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    base_env = {**os.environ, **CREDENTIALS, "LEADFLOW_OUTBOX": str(work / "outbox"), "PYTHONUNBUFFERED": "1"}
    base_env.pop("AWS_PROFILE", None)
    emulator = subprocess.Popen([sys.executable, "-m", "devstack.emulator", "--port", str(port)], cwd=PROJECT_ROOT,
                                env=base_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runtime = None
    try:
        wait_for_http(endpoint + "/moto-api/", 30, emulator)
        resources = create_resources(endpoint, uuid.uuid4().hex[:8])
        floors = create_resources(endpoint, "floor-" + uuid.uuid4().hex[:8])
        dynamodb, sqs = local_client("dynamodb", endpoint), local_client("sqs", endpoint)
        stream_floor_ms = stream_floor(dynamodb, local_client("dynamodbstreams", endpoint), floors["table"],
                                       floors["stream_arn"], args.events)
        sqs_floor_ms = sqs_floor(sqs, floors["queue_url"], args.events)
        idle_window = 5.0
        emulator_alone = idle_cpu({"emulator": emulator}, idle_window)["emulator"]
        records = work / "records.jsonl"
        (work / "settings.json").write_text("{}")
        env = {**base_env, "AWS_ENDPOINT_URL": endpoint, "FIXTURE_RECORD_FILE": str(records),
               "FIXTURE_STREAM_ARN": resources["stream_arn"], "FIXTURE_QUEUE": resources["queue"],
               "FIXTURE_STREAM_BATCH_SIZE": "100", "FIXTURE_QUEUE_BATCH_SIZE": "10"}
        ready = work / "ready"
        with (work / "runtime.log").open("wb") as log:
            runtime = subprocess.Popen(
                [sys.executable, "-m", "devstack.runtime", "--project-dir", str(FIXTURE_APP),
                 "--settings", str(work / "settings.json"), "--state-dir", str(work / "state"),
                 "--ready-file", str(ready)],
                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        while not ready.exists():
            if runtime.poll() is not None:
                raise RuntimeError("runtime exited; see " + str(work / "runtime.log"))
            time.sleep(0.05)

        tail = RecordTail(records)

        def put(key: str) -> None:
            dynamodb.put_item(TableName=resources["table"], Item={"id": {"S": key}})

        def enqueue(key: str) -> None:
            sqs.send_message(QueueUrl=resources["queue_url"], MessageBody=json.dumps({"id": key}))

        measure(5, put, tail, "warm-stream")  # first invocations import the handler's code (cold start)
        measure(5, enqueue, tail, "warm-sqs")
        stream_ms = measure(args.events, put, tail, "stream")
        sqs_ms = measure(args.events, enqueue, tail, "sqs")

        idle = idle_cpu({"emulator": emulator, "runtime": runtime}, idle_window)

        print(f"local event runtime latency, {args.events} events each, one at a time")
        print(summary("put_item -> stream handler", stream_ms))
        print(summary("  floor: put_item+GetRecords", stream_floor_ms))
        print(summary("SQS send -> SQS handler", sqs_ms))
        print(summary("  floor: send+receive", sqs_floor_ms))
        print(f"idle CPU over {idle_window:.0f} s: emulator {idle['emulator']:.1f}% of a core "
              f"(alone, before the runtime: {emulator_alone:.1f}%), runtime {idle['runtime']:.1f}%")
        report("put_item -> stream handler", stream_ms, stream_floor_ms, "emulator floor: put_item + GetRecords")
        report("SQS send -> SQS handler", sqs_ms, sqs_floor_ms, "emulator floor: SendMessage + ReceiveMessage")
        emit_row("local_latency", "idle CPU, emulator + runtime", idle["emulator"] + idle["runtime"],
                 "% of a core", "< 5%", "emulator alone, idle, before the runtime", emulator_alone,
                 idle["emulator"] + idle["runtime"] < 5.0)
    finally:
        for process in (runtime, emulator):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


if __name__ == "__main__":
    main()
