"""Fixtures for the integration tier: one emulator server of the runtime tests'
own (its outbox in a temporary directory), per-test resources, and the runtime
as a subprocess (helpers: tests/support/runtime.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import Emulator, emulator_process
from tests.support.runtime import FixtureResources, RuntimeProcess


@pytest.fixture(scope="session")
def runtime_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_process(tmp_path_factory.mktemp("outbox")) as server:
        yield server


@pytest.fixture
def resources(runtime_emulator: Emulator) -> FixtureResources:
    return FixtureResources(runtime_emulator).create()


@pytest.fixture
def start_runtime(runtime_emulator: Emulator, resources: FixtureResources,
                  tmp_path: Path) -> Iterator[Callable[..., RuntimeProcess]]:
    started: list[RuntimeProcess] = []

    def start(*handlers: str, settings: dict[str, Any] | None = None) -> RuntimeProcess:
        runtime = RuntimeProcess(runtime_emulator, resources, tmp_path, settings or resources.settings(),
                                 handlers or ("stream", "queue", "topic"))
        started.append(runtime)
        return runtime.start()

    yield start
    for runtime in started:
        runtime.kill()
