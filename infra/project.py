"""The Chalice project's files and names that dev tooling (infra, devstack, ops, bench, tests) shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Set for the Chalice commands infra/ runs: app.py stops plain `chalice package`
# and `chalice deploy` (which cannot set leadflow up) and lets these through.
DEPLOY_TOOL_ENV = {"LEADFLOW_DEPLOY_TOOL": "1"}

# Stages that run only on this machine and are never deployed to AWS.
LOCAL_ONLY_STAGES = frozenset({"local"})


def stack_name(stage: str) -> str:
    """The resources stack of a stage (infra/resources.py), on AWS and in the emulator alike."""
    return f"leadflow-{stage}-resources"


def config_path(project_dir: Path) -> Path:
    return project_dir / ".chalice" / "config.json"


def load_config(project_dir: Path) -> dict[str, Any]:
    return dict(json.loads(config_path(project_dir).read_text(encoding="utf-8")))


def save_config(project_dir: Path, config: dict[str, Any]) -> None:
    config_path(project_dir).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def stage_environment(project_dir: Path, stage: str) -> dict[str, str]:
    config = load_config(project_dir)
    merged = dict(config.get("environment_variables", {}))
    merged.update(config["stages"][stage].get("environment_variables", {}))
    return {key: str(value) for key, value in merged.items()}


def stage_config(project_dir: Path, stage: str) -> dict[str, Any]:
    """The stage's settings over the top-level ones (as Chalice chains them), without lambda_functions."""
    config = load_config(project_dir)
    merged = {k: v for k, v in config.items() if k not in ("stages", "lambda_functions")}
    merged.update({k: v for k, v in config["stages"][stage].items() if k != "lambda_functions"})
    return merged


def deployable_stages(project_dir: Path) -> list[str]:
    return [s for s in load_config(project_dir)["stages"] if s not in LOCAL_ONLY_STAGES]


def load_event_sources(project_dir: Path) -> dict[str, dict[str, Any]]:
    """.chalice/event-sources.json without its comment keys."""
    raw = json.loads((project_dir / ".chalice" / "event-sources.json").read_text(encoding="utf-8"))
    return {name: dict(value) for name, value in raw.items() if not name.startswith("_")}


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def policy_path(project_dir: Path, stage: str, function: str) -> Path:
    return project_dir / ".chalice" / policy_file_name(stage, function)
