"""The deploy tests' helpers: a scratch copy of the Chalice project and the packaged template."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import project
from infra.app_model import LambdaFunction

PROJECT_ROOT = project.PROJECT_ROOT  # the suites' name for it
PACKAGED_STAGE = "prod"

DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def copy_project(destination: Path, build_cache: Path | None = None) -> Path:
    """What Chalice deploys (app.py, chalicelib/, requirements, .chalice settings).

    `build_cache` is shared as .chalice/deployments, Chalice's cache of built
    dependencies, so a session downloads and builds them once."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "app.py", destination / "app.py")
    shutil.copy(PROJECT_ROOT / "requirements.txt", destination / "requirements.txt")
    shutil.copytree(
        PROJECT_ROOT / "chalicelib", destination / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    chalice_dir = destination / ".chalice"
    chalice_dir.mkdir(exist_ok=True)
    for path in (PROJECT_ROOT / ".chalice").glob("*.json"):
        shutil.copy(path, chalice_dir / path.name)
    if build_cache is not None:
        (chalice_dir / "deployments").symlink_to(build_cache, target_is_directory=True)
    return destination


@dataclass
class Packaged:
    project_dir: Path
    out: Path
    template: dict[str, Any]
    functions: list[LambdaFunction]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def zip_names(self) -> list[str]:
        with zipfile.ZipFile(self.out / "deployment.zip") as archive:
            return archive.namelist()


