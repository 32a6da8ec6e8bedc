"""Fixtures for the deploy tests: a scratch copy of the Chalice project, the
packaged template (built once per session), and dummy AWS credentials so
nothing here can reach a real account (helpers: tests/support/deploy.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.app_model import describe_app
from infra.package import package
from tests.support.deploy import DUMMY_AWS, PACKAGED_STAGE, Packaged, copy_project


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
