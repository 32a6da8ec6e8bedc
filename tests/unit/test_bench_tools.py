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
