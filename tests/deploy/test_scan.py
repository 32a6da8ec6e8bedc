"""The security scan of what deploys: checkov over the packaged template and
parliament over every IAM policy (the policy files and the template's own).
A finding fails the suite unless the template declines it with a reason
(infra/scan_skips.py); each scanner also has to show it can find something."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import project, scan_skips
from infra.policies import PolicyContext
from tests.support import scan
from tests.support.deploy import PACKAGED_STAGE, Packaged

# A queue with no encryption and a function with none of the settings: the
# checks this project answers must fire on it, or the scan proves nothing.
CANARY_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Plain": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "plain"}},
        "Bare": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Runtime": "python3.12", "Handler": "app.handler", "Role": "arn:aws:iam::1:role/r",
                           "Code": {"ZipFile": "def handler(event, context): pass"},
                           "Environment": {"Variables": {"TABLE": "leads"}}},
        },
    },
}
RESOURCE_POLICY_KEYS = (".KeyPolicy", ".PolicyDocument")
DECLINED = {check for skips in scan_skips.FUNCTION_SKIPS.values() for check, _ in skips} | {
    scan_skips.TABLE_CMK[0], scan_skips.QUEUE_SSE[0], scan_skips.BUCKET_ACCESS_LOGS[0],
    scan_skips.LOG_GROUP_ONE_YEAR[0], scan_skips.API_CACHE[0], scan_skips.SECRET_CMK[0],
    scan_skips.SECRET_ROTATION[0],
}


@pytest.fixture(scope="module")
def checkov(packaged: Packaged, tmp_path_factory: pytest.TempPathFactory) -> tuple[scan.CheckovReport, Path]:
    """One checkov run over the packaged template and the canary (a few seconds)."""
    canary = tmp_path_factory.mktemp("canary") / "canary.json"
    canary.write_text(json.dumps(CANARY_TEMPLATE))
    return scan.run_checkov(packaged.out / "sam.json", canary), canary


def test_checkov_finds_nothing_unjustified_in_the_packaged_template(checkov, packaged):
    report = checkov[0].for_file(packaged.out / "sam.json")
    assert [f"{f.check_id} {f.resource}: {f.name}" for f in report.failed] == []
    assert len(report.passed) > 80  # it did scan the template


def test_every_declined_check_carries_its_reason_and_is_one_the_project_declines(checkov, packaged):
    report = checkov[0].for_file(packaged.out / "sam.json")
    assert report.skipped, "the template declines some checks, with reasons"
    for finding in report.skipped:
        assert len(finding.comment) > 40, (finding.check_id, finding.resource)
        assert finding.check_id in DECLINED, (finding.check_id, finding.resource)


def test_what_the_template_fixes_is_passed_not_skipped(checkov, packaged):
    """X-Ray, access logs, the API handler's concurrency limit and log retention are done, not excused."""
    report = checkov[0].for_file(packaged.out / "sam.json")
    passed = {(f.check_id, f.resource.split(".")[-1]) for f in report.passed}
    assert ("CKV_AWS_73", "RestAPI") in passed  # X-Ray on the API
    assert ("CKV_AWS_76", "RestAPI") in passed  # access logs
    assert ("CKV_AWS_115", "APIHandler") in passed  # reserved concurrency
    for logical, resource in packaged.resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert ("CKV_AWS_66", logical) in passed and ("CKV_AWS_158", logical) in passed, logical
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Properties"]["Tracing"] == "Active", logical


def test_checkov_reports_findings_when_there_are_some(checkov):
    report, canary = checkov
    failed = {(f.check_id, f.resource.split(".")[-1]) for f in report.for_file(canary).failed}
    for check in ("CKV_AWS_27", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"):
        assert any(c == check for c, _ in failed), (check, failed)


def _arn_of(ctx: PolicyContext) -> Any:
    def arn_of(logical: str) -> str:
        kind = ctx.template["Resources"].get(logical, {}).get("Type", "")
        if kind == "AWS::KMS::Key":
            return "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        try:
            arn = ctx.arn(logical)
        except KeyError:
            return f"arn:aws:iam::123456789012:role/{logical}"
        return str(scan.resolve({"Fn::Sub": arn}, lambda name: name))

    return arn_of


def _as_analysable(name: str, document: dict[str, Any]) -> dict[str, Any]:
    """A key policy read as parliament reads other policies: its Resource "*" means the key
    itself, so the key is named; the statement that hands the key to the account's IAM
    ("kms:*" for the account root, AWS's default key policy) is left out, as parliament
    reads its "kms:*" as actions like CreateKey that take no key."""
    if not name.endswith(".KeyPolicy"):
        return document
    key = _arn_of(PolicyContext.for_project(project.PROJECT_ROOT, PACKAGED_STAGE))(name.split(".")[0])
    statements = [{**s, "Resource": key} for s in document["Statement"] if s.get("Sid") != "AccountAdministers"]
    assert len(statements) == len(document["Statement"]) - 1
    return {**document, "Statement": statements}


def test_parliament_finds_nothing_in_the_policy_files():
    files = sorted((project.PROJECT_ROOT / ".chalice").glob("policy-*.json"))
    assert len(files) >= len(project.deployable_stages(project.PROJECT_ROOT)) * 5
    findings = [line for path in files for line in scan.parliament_findings(json.loads(path.read_text()), path.name)]
    assert findings == []


def test_parliament_finds_nothing_in_the_packaged_templates_policies(packaged):
    ctx = PolicyContext.for_project(packaged.project_dir, PACKAGED_STAGE)
    policies = scan.template_policies(packaged.template)
    kinds = {name.split(".")[-1] for name in policies}
    assert {"KeyPolicy", "PolicyDocument"} <= kinds and len(policies) > 10
    findings = [
        line
        for name, document in policies.items()
        # The community auditors judge what an identity may do; on a resource policy
        # (a key's "kms:*" for the account, AWS's default key policy) they misfire.
        for line in scan.parliament_findings(
            _as_analysable(name, scan.resolve(document, _arn_of(ctx))), name,
            community=not name.endswith(RESOURCE_POLICY_KEYS),
        )
    ]
    assert findings == []


def test_parliament_reports_a_finding_when_there_is_one():
    mismatched = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a-bucket"}
    ]}
    assert any("RESOURCE_MISMATCH" in line for line in scan.parliament_findings(mismatched, "canary"))


# Paths of the kinds checkov's graph parses (attribute keys, indexes, nested and quoted names).
JSONPATHS = ["$.Dimensions[0]", "$.Environment.Variables", "$.Policies[0].PolicyDocument.Statement[0]",
             "$.Properties.Tags[*].Key", "$..Arn", "$.'aws:SourceArn'", "$.Statement[?(@.Effect == 'Allow')]"]
SAME_PARSES = """
import json, sys
from bc_jsonpath_ng.ext import parse
paths = json.loads(sys.argv[1])
before = [repr(parse(path)) for path in paths]
sys.path.insert(0, sys.argv[2])
import checkov_runner
built = checkov_runner.build_each_parser_once()
after = [repr(parse(path)) for path in paths]
print(json.dumps([before == after, len(set(before)) == len(paths), len(built)]))
"""


def test_the_runner_s_parser_reuse_parses_every_path_as_a_new_parser_does():
    """tests/support/checkov_runner.py builds each JSONPath parser once (checkov's run: 15 -> 8
    s). A reused parser must read each path as a new one does. (The whole scan's findings were
    compared once, with and without it: the same 120 passed, 0 failed, 41 skipped.)"""
    import subprocess

    python = scan.checkov_command()[0]
    run = subprocess.run([python, "-c", SAME_PARSES, json.dumps(JSONPATHS), str(scan.RUNNER.parent)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [True, True, 1]  # the same trees, from one parser
