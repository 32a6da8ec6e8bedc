"""The security scanners the suite runs offline: checkov over CloudFormation
templates and parliament over IAM policy documents.

checkov lives in its own environment (requirements-scan.txt, installed by the
Makefile into <venv>/scan): every checkov 3.x pins boto3 exactly, to a release
older than the one the project tests against, so the two cannot share one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKOV_ENV = "LEADFLOW_CHECKOV"
LOCAL_VALUES = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def checkov_executable() -> Path:
    configured = os.environ.get(CHECKOV_ENV)
    path = Path(configured) if configured else Path(sys.prefix) / "scan" / "bin" / "checkov"
    if not path.exists():
        raise FileNotFoundError(
            f"checkov not found at {path}: run `make .venv/.installed` (it installs requirements-scan.txt "
            f"into .venv/scan), or set {CHECKOV_ENV}"
        )
    return path


RUNNER = Path(__file__).with_name("checkov_runner.py")


def checkov_command() -> list[str]:
    """checkov's command line: through tests/support/checkov_runner.py (its JSONPath parsers
    built once: 15 -> 8 s a run) by the interpreter of checkov's environment, or the
    executable itself where that interpreter is not beside it."""
    executable = checkov_executable()
    python = executable.with_name("python")
    return [str(python), str(RUNNER)] if python.exists() else [str(executable)]


@dataclass(frozen=True)
class Finding:
    file: str
    check_id: str
    resource: str
    name: str
    comment: str = ""  # a skip's written reason


@dataclass(frozen=True)
class CheckovReport:
    passed: list[Finding]
    failed: list[Finding]
    skipped: list[Finding]

    def for_file(self, path: Path) -> CheckovReport:
        def mine(findings: list[Finding]) -> list[Finding]:
            return [f for f in findings if Path(f.file).name == path.name]

        return CheckovReport(mine(self.passed), mine(self.failed), mine(self.skipped))


def _findings(results: dict[str, Any], key: str) -> list[Finding]:
    return [
        Finding(
            file=str(r.get("file_path") or r.get("file_abs_path") or ""),
            check_id=r["check_id"],
            resource=r["resource"],
            name=r.get("check_name") or "",
            comment=str(r.get("check_result", {}).get("suppress_comment") or ""),
        )
        for r in results.get(key, [])
    ]


def run_checkov(*templates: Path) -> CheckovReport:
    """One checkov run (CloudFormation framework, nothing downloaded) over the templates."""
    command = [*checkov_command(), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for template in templates:
        command += ["--file", str(template)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode not in (0, 1):  # 1: some check failed
        raise RuntimeError(f"checkov exited {result.returncode}:\n{result.stderr[-2000:]}")
    reports = json.loads(result.stdout)
    passed: list[Finding] = []
    failed: list[Finding] = []
    skipped: list[Finding] = []
    for report in reports if isinstance(reports, list) else [reports]:
        results = report.get("results", {})
        passed += _findings(results, "passed_checks")
        failed += _findings(results, "failed_checks")
        skipped += _findings(results, "skipped_checks")
    return CheckovReport(passed, failed, skipped)


def parliament_findings(document: dict[str, Any], name: str, community: bool = True) -> list[str]:
    """parliament's findings at LOW severity or above, one line each, with its community
    auditors unless `community` is False (as `parliament --include-community-auditors`)."""
    import parliament
    from parliament.cli import is_finding_filtered

    if community:
        # What the CLI does for --include-community-auditors: their findings' titles and severities.
        parliament.override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
    policy = parliament.analyze_policy_string(json.dumps(document), name, include_community_auditors=community)
    findings = [parliament.enhance_finding(f) for f in policy.findings]
    return [f"{name}: {f.issue} {f.location}" for f in findings if not is_finding_filtered(f, "LOW")]


def resolve(node: Any, arn_of: Callable[[str], str]) -> Any:
    """A template fragment with its intrinsic functions replaced by values for one
    local account, so a policy inside a template can be read like a policy file."""
    if isinstance(node, list):
        return [resolve(item, arn_of) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return LOCAL_VALUES.get(argument) or arn_of(argument)
        if function == "Fn::GetAtt" and argument[1] == "Arn":
            return arn_of(argument[0])
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: LOCAL_VALUES.get(m.group(1)) or arn_of(m.group(1)), argument)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(part, arn_of)) for part in parts)
    return {key: resolve(value, arn_of) for key, value in node.items()}


def template_policies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every policy document in a template: role policies, and resource policies of
    queues, topics, buckets and keys, by `<logical id>.<where>`."""
    found: dict[str, dict[str, Any]] = {}
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []) if isinstance(props.get("Policies"), list) else []:
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                found[f"{logical}.{policy.get('PolicyName', 'policy')}"] = policy["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in props:
                found[f"{logical}.{key}"] = props[key]
    return found
