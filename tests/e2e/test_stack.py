"""The `make run` stack end to end: real processes, real HTTP on 127.0.0.1.

Two ways in, both the entry point `make run` uses:
- devstack.stack.LocalStack started and stopped from the test;
- `python -m devstack` as a child process, stopped with Ctrl-C (SIGINT to
  its process group, as a terminal sends it).
Both on free ports with a temporary outbox, so a developer's own `make run`
on 4566/8000 is never disturbed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.provision import client_at, local_client
from devstack.stack import LocalStack, StackConfig, wait_for_http
from tests.support.aws import PROJECT_ROOT, free_port, stage_env

pytestmark = pytest.mark.e2e

STOP_TIMEOUT = 60


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def emulator_dynamodb(endpoint: str) -> Any:
    return local_client("dynamodb", endpoint)


def stored_lead(endpoint: str, lead_id: str) -> dict[str, Any] | None:
    table = stage_env()["LEADS_TABLE"]
    return emulator_dynamodb(endpoint).get_item(
        TableName=table, Key={"id": {"S": lead_id}}, ConsistentRead=True
    ).get("Item")


def is_listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def parent_pids() -> dict[int, int]:
    """pid -> parent pid for every live, non-zombie process (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # The command name is in parentheses and may itself contain spaces.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(ppid)
    return parents


def descendants(pid: int) -> set[int]:
    parents = parent_pids()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def still_running(pids: set[int]) -> set[int]:
    alive = set(parent_pids())
    return pids & alive


def lead_round_trip(api_url: str, aws_endpoint: str) -> None:
    marker = f"e2e {uuid.uuid4()}"
    status, body = post_json(
        api_url + "/leads", {"name": "Katherine Johnson", "email": "kj@example.com", "message": marker}
    )
    assert status == 201
    item = stored_lead(aws_endpoint, body["id"])
    assert item is not None
    assert item["message"]["S"] == marker


@pytest.fixture
def stack_config(tmp_path: Path) -> StackConfig:
    return StackConfig(aws_port=free_port(), api_port=free_port(), mail_port=free_port(), outbox=tmp_path / "outbox",
                       dynamodb_port=free_port())


def test_local_stack_serves_a_lead_and_stops_everything(stack_config):
    stack = LocalStack(stack_config)
    stack.start()
    try:
        started = list(stack.processes)
        assert stack_config.outbox.is_dir()
        lead_round_trip(stack_config.api_url, stack_config.aws_endpoint)
        wait_for_http(stack_config.mail_url + "/api/health", 5)
        # The tables live in the DynamoDB process alone: a call that reached the main one would fail.
        tables = set(stage_env()[name] for name in ("LEADS_TABLE", "DELIVERIES_TABLE", "NOTIFICATIONS_TABLE"))
        assert tables <= set(client_at("dynamodb", stack_config.dynamodb_endpoint).list_tables()["TableNames"])
        assert client_at("dynamodb", stack_config.aws_endpoint).list_tables()["TableNames"] == []
    finally:
        stack.stop()
    assert started and all(process.returncode is not None for process in started)
    assert not is_listening(stack_config.api_port)
    assert not is_listening(stack_config.aws_port)
    assert not is_listening(stack_config.dynamodb_port)
    assert not is_listening(stack_config.mail_port)


def start_devstack(stack_config: StackConfig, ignore_sigint: bool, output: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADFLOW_AWS_PORT": str(stack_config.aws_port),
        "LEADFLOW_DYNAMODB_PORT": str(stack_config.dynamodb_port),
        "LEADFLOW_API_PORT": str(stack_config.api_port),
        "LEADFLOW_MAIL_PORT": str(stack_config.mail_port),
        "LEADFLOW_OUTBOX": str(stack_config.outbox),
    }

    def inherit_ignored_sigint() -> None:
        # What a background job of a non-interactive shell, nohup or a CI runner hands on.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    # Its own process group, like a shell job: Ctrl-C goes to the group.
    with output.open("wb") as terminal:  # what a terminal would show
        return subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=inherit_ignored_sigint if ignore_sigint else None,
            stdout=terminal,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def terminal(tmp_path: Path) -> Path:
    return tmp_path / "terminal.txt"


@pytest.fixture
def devstack_process(stack_config: StackConfig, request: pytest.FixtureRequest,
                     terminal: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_devstack(stack_config, ignore_sigint=getattr(request, "param", False), output=terminal)
    try:
        yield process
    finally:
        if process.poll() is None:  # the test failed before stopping it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_gone(pids: set[int], ports: tuple[int, ...], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not still_running(pids) and not any(is_listening(port) for port in ports):
            return
        time.sleep(0.2)
    assert still_running(pids) == set(), "children outlived the stack"
    assert not [port for port in ports if is_listening(port)], "ports still held"


BANNER_END = "Ctrl-C stops everything."
SCREEN_LINES = 24


def check_start_up_screen(stack_config: StackConfig, process: subprocess.Popen[bytes], terminal: Path) -> None:
    """The start-up fits on one screen and names every URL (read before the stop)."""
    deadline = time.monotonic() + 120
    while BANNER_END not in terminal.read_text(errors="replace"):
        assert process.poll() is None, terminal.read_text(errors="replace")
        assert time.monotonic() < deadline, "no banner within 120 s"
        time.sleep(0.2)
    shown = terminal.read_text(errors="replace")
    start_up = shown[: shown.index(BANNER_END)].splitlines()
    assert len(start_up) < SCREEN_LINES, shown
    assert "CloudFormation support" not in shown and "Tried to parse" not in shown
    for url in (stack_config.api_url, stack_config.mail_url, stack_config.aws_endpoint):
        assert url in shown
    assert "local-admin-token" in shown and str(stack_config.outbox) in shown
    assert shown.count("Only on AWS") == 1 and "AWS::CloudWatch::Alarm" in shown
    assert "until Ctrl-C" in shown  # says how long the data lasts


@pytest.mark.parametrize(
    ("devstack_process", "stop_signal"),
    [(False, signal.SIGINT), (True, signal.SIGINT), (True, signal.SIGTERM)],
    ids=["ctrl-c", "ctrl-c-with-sigint-ignored-at-start", "sigterm-with-sigint-ignored-at-start"],
    indirect=["devstack_process"],
)
def test_make_run_entry_point_serves_and_ctrl_c_stops_all(stack_config, devstack_process, stop_signal, terminal):
    """Each start also shows its start-up screen (one stack start per case, not one more for the screen)."""
    wait_for_http(stack_config.api_url + "/health", 120, devstack_process)
    check_start_up_screen(stack_config, devstack_process, terminal)
    lead_round_trip(stack_config.api_url, stack_config.aws_endpoint)
    children = descendants(devstack_process.pid)
    assert children, "the stack started no child processes"

    os.killpg(devstack_process.pid, stop_signal)
    assert devstack_process.wait(timeout=STOP_TIMEOUT) == 0
    assert still_running(children) == set()
    assert not is_listening(stack_config.api_port)
    assert not is_listening(stack_config.aws_port)
    assert not is_listening(stack_config.dynamodb_port)
    assert not is_listening(stack_config.mail_port)


def test_children_stop_when_the_stack_is_killed_outright(stack_config, devstack_process):
    """SIGKILL leaves the stack no chance to clean up; its children (each in a
    session of its own, so no group signal reaches them) stop by themselves."""
    wait_for_http(stack_config.api_url + "/health", 120, devstack_process)
    children = descendants(devstack_process.pid)
    assert len(children) >= 5, "expected the emulator's two processes, the runtime, the mail viewer and the API"

    os.kill(devstack_process.pid, signal.SIGKILL)
    devstack_process.wait(timeout=10)
    ports = (stack_config.api_port, stack_config.aws_port, stack_config.dynamodb_port, stack_config.mail_port)
    wait_until_gone(children, ports, timeout=STOP_TIMEOUT)


def test_help_prints_help_and_starts_nothing(stack_config):
    shown = subprocess.run([sys.executable, "-m", "devstack", "--help"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, timeout=60, env={**os.environ, "LEADFLOW_AWS_PORT": str(stack_config.aws_port)})
    assert shown.returncode == 0
    assert "usage: python -m devstack" in shown.stdout and "--quiet" in shown.stdout and "--verbose" in shown.stdout
    assert "LEADFLOW_MAIL_PORT" in shown.stdout
    assert not is_listening(stack_config.aws_port)
