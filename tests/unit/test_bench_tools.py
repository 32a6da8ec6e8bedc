"""The benchmark tooling: the results runner's row convention and the cold-start peer.

The peer must really be the same API (validating, storing, answering 201),
or the comparison in bench/cold_start.py would flatter leadflow.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.support.aws import PROJECT_ROOT


def load_script(name: str) -> ModuleType:
    path = PROJECT_ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_all() -> ModuleType:
    return load_script("run_all")


def write_script(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(body)
    return path


def test_rows_are_collected_and_tabled(run_all, tmp_path):
    row = {"bench": "demo", "metric": "speed", "value": 1.5, "unit": "ms", "goal": "<= 2x floor",
           "reference": "floor", "reference_value": 1.0, "ratio": 1.5, "met": True}
    line = "BENCH_ROW " + json.dumps(row)
    script = write_script(tmp_path, "demo", f"print('noise')\nprint({line!r})\n")
    rows = run_all.run_script(script)
    assert rows == [row]
    table = run_all.to_markdown(rows)
    assert "| demo | speed | 1.5 | ms | <= 2x floor | floor | 1 | 1.5 | met |" in table


@pytest.mark.parametrize(
    ("body", "why"),
    [("import sys\nsys.exit(3)\n", "exit 3"), ("print('no rows')\n", "no BENCH_ROW lines")],
)
def test_a_benchmark_that_fails_or_reports_nothing_is_a_failed_row(run_all, tmp_path, body, why):
    rows = run_all.run_script(write_script(tmp_path, "broken", body))
    assert rows[-1]["metric"] == f"FAILED: {why}"
    assert "NOT met" in run_all.to_markdown(rows)


def test_helpers_and_the_runner_are_not_benchmarks(run_all):
    names = {p.name for p in run_all.discover([])}
    assert "cold_start.py" in names
    assert not any(name.startswith("_") or name == "run_all.py" for name in names)


def api_event(body: Any) -> dict[str, Any]:
    return {
        "httpMethod": "POST", "path": "/leads", "resource": "/leads", "body": json.dumps(body),
        "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {}, "isBase64Encoded": False,
        "queryStringParameters": None, "pathParameters": None,
        "requestContext": {"httpMethod": "POST", "resourcePath": "/leads", "stage": "api", "requestId": "r"},
    }


@pytest.fixture
def peer(local_aws, monkeypatch) -> ModuleType:
    pytest.importorskip("aws_lambda_powertools")
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    sys.modules.pop("bench.peer.powertools_handler", None)
    from bench.peer import powertools_handler

    return powertools_handler


def test_peer_validates_and_stores_like_the_api(peer, local_aws):
    created = peer.handler(api_event({"name": "Ada", "email": "ada@example.com", "metadata": {"k": "v"}}), None)
    assert created["statusCode"] == 201
    lead_id = json.loads(created["body"])["id"]
    item = boto3.client("dynamodb").get_item(TableName=local_aws["LEADS_TABLE"], Key={"id": {"S": lead_id}})
    assert item["Item"]["email"] == {"S": "ada@example.com"}
    for bad in ({"name": "Ada"}, {"name": "Ada", "email": "nope"}, {"name": "", "email": "a@b.co"},
                {"name": "Ada", "email": "a@b.co", "extra": 1}, {"name": "Ada", "email": "a@b.co", "source": "X Y"}):
        assert peer.handler(api_event(bad), None)["statusCode"] == 422, bad


# --- the pipeline bench's own bookkeeping ----------------------------------------------------------


@pytest.fixture
def pipeline_bench(monkeypatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    return load_script("pipeline")


def test_stage_times_are_ms_after_each_post_for_leads_with_every_email(pipeline_bench):
    posts = {"a": (100.0, 0.030), "b": (200.0, 0.020)}
    times = pipeline_bench.stage_times(
        posts,
        created={"a": 100.010, "b": 200.010},
        claims={"a": [100.090, 100.050], "b": [200.050, 200.060]},
        emails={"a": [100.130, 100.080], "b": [200.070]},  # b's second email never came
        per_lead=2,
    )
    assert {stage: [round(v) for v in values] for stage, values in times.items()} == {
        "POST answered": [30], "lead stored": [10], "first email claimed": [50], "first email out": [80],
        "last email claimed": [90], "last email out": [130],
    }


def test_the_outbox_watch_parses_each_file_once(pipeline_bench, tmp_path, monkeypatch):
    """The bench shares the stack's cores: a file already read is not parsed again."""
    (tmp_path / "one.eml").write_bytes(b"Content-Type: text/plain\n\nLead id: abc\n")
    parsed: list[object] = []
    real = pipeline_bench.email.message_from_binary_file
    monkeypatch.setattr(pipeline_bench.email, "message_from_binary_file",
                        lambda handle: parsed.append(handle) or real(handle))
    import time

    done = pipeline_bench._complete_leads(tmp_path, {"abc": (0.0, 0.0)}, 2, time.time() + 1.2)  # never complete
    assert done == {} and len(parsed) == 1
    (tmp_path / "two.eml").write_bytes(b"Content-Type: text/plain\n\nReference: abc\n")
    assert list(pipeline_bench._complete_leads(tmp_path, {"abc": (0.0, 0.0)}, 2, time.time() + 5)) == ["abc"]
