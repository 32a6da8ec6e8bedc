"""Fixtures for the deploy tests: a scratch copy of the Chalice project, the
packaged template (built once per session), and dummy AWS credentials so
nothing here can reach a real account."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import project
from infra.app_model import LambdaFunction, describe_app
from infra.package import package

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


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chalice-deployments")


@pytest.fixture(scope="session")
def dummy_aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in DUMMY_AWS.items():
            patch.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            patch.delenv(key, raising=False)
        yield


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


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory, dummy_aws: None, build_cache: Path) -> Packaged:
    """`python -m infra.package --stage prod`, once per session."""
    project_dir = copy_project(tmp_path_factory.mktemp("package-project"), build_cache)
    out = tmp_path_factory.mktemp("package-out") / PACKAGED_STAGE
    sam = package(project_dir, PACKAGED_STAGE, out)
    return Packaged(
        project_dir=project_dir,
        out=out,
        template=json.loads(sam.read_text()),
        functions=describe_app(project_dir, PACKAGED_STAGE),
    )
