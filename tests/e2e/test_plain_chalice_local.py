"""Plain `chalice local --stage local`, as a Chalice user runs it, against the
emulator `make emulator` starts (README: "Serving the API yourself").

The local stage names the emulator at 127.0.0.1:4566 (and its DynamoDB process
at 4567), so this test needs those ports; it is skipped, saying so, when
something else (a developer's own `make run`) already holds one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import wait_for_http
from tests.e2e.test_stack import is_listening
from tests.support.aws import PROJECT_ROOT, free_port, stage_env
from tests.support.mailviewer import MailViewer

pytestmark = pytest.mark.e2e

DEFAULT_AWS_PORT = 4566
DEFAULT_DYNAMODB_PORT = 4567
CHALICE = Path(sys.executable).parent / "chalice"


@pytest.fixture
def emulator_stack(tmp_path: Path) -> Iterator[str]:
    """`make emulator` (python -m devstack --no-api) on the default emulator port; its mail viewer's URL."""
    for port in (DEFAULT_AWS_PORT, DEFAULT_DYNAMODB_PORT):
        if is_listening(port):
            pytest.skip(f"127.0.0.1:{port} is in use (a local stack of your own?)")
    mail_port = free_port()
    env = {**os.environ, "LEADFLOW_MAIL_PORT": str(mail_port), "LEADFLOW_OUTBOX": str(tmp_path / "outbox")}
    env.pop("LEADFLOW_AWS_PORT", None)
    env.pop("LEADFLOW_DYNAMODB_PORT", None)
    process = subprocess.Popen([sys.executable, "-m", "devstack", "--no-api", "--quiet"], cwd=PROJECT_ROOT,
                               env=env, start_new_session=True, stdout=subprocess.PIPE, text=True)
    try:
        wait_for_http(f"http://127.0.0.1:{mail_port}/api/health", 120, process)
        yield f"http://127.0.0.1:{mail_port}"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)


def clean_environment() -> dict[str, str]:
    """What a new shell has: no AWS variables, no profile."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def test_plain_chalice_local_serves_a_lead_that_gets_both_emails(emulator_stack):
    port = free_port()
    # --no-autoreload, as the README says: Chalice's reloader restarts the server on any file
    # change in the project folder, and the stack writes var/ (outbox, stream checkpoints).
    api = subprocess.Popen([str(CHALICE), "local", "--stage", "local", "--port", str(port), "--no-autoreload"],
                           cwd=PROJECT_ROOT,
                           env=clean_environment(), start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 60, api)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/leads", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"name": "Plain Chalice", "email": "plain.chalice@example.com"}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            lead_id = json.loads(response.read())["id"]
        team = stage_env()["TEAM_ADDRESSES"].split(",")[0]
        mails = MailViewer(emulator_stack)
        assert mails.wait(to="plain.chalice@example.com", timeout=30)
        assert mails.wait(to=team, lead_id=lead_id, timeout=30)
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/leads/{lead_id}",
                                   headers={"Authorization": "Bearer local-admin-token"}), timeout=30
        ) as response:
            assert json.loads(response.read())["id"] == lead_id
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        output = api.communicate(timeout=30)[0]
    assert "Traceback" not in output, output
