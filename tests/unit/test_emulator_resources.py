"""A split emulator's processes make the template's resources without CloudFormation
(devstack/emulator_resources.py): the same resources moto's CloudFormation makes, once each."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import emulator_resources
from devstack.provision import LOCAL_ACCOUNT, LOCAL_REGION, deploy_stack, made_directly, split_tables
from infra import resources
from infra.project import stack_name

OTHER_ACCOUNT = "210987654321"
# What differs between any two resources made apart: when, and their random ids (KMS keys').
VARYING = re.compile(r"timestamp|date|time$|label$|^id$|TableId")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Applied after either way of making the tables, by devstack/provision.py apply_gaps.
APPLIED_AFTER = ("ttl",)


@pytest.fixture(autouse=True)
def nothing_made_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The record of what was made lives as long as an emulator process; here, one test."""
    monkeypatch.setattr(emulator_resources, "_made", {})


def state(value: Any, depth: int = 0) -> Any:
    """A model's attributes as plain data, a few levels deep (nested models included), with
    what always differs left out and this test's second account named as the first."""
    if isinstance(value, str):
        return UUID.sub("<uuid>", value.replace(OTHER_ACCOUNT, LOCAL_ACCOUNT))
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if depth > 4:
        return type(value).__name__
    if isinstance(value, dict):
        return {str(k): state(v, depth + 1) for k, v in value.items()
                if not VARYING.search(str(k)) and k not in APPLIED_AFTER}
    if isinstance(value, (list, tuple)):
        return [state(v, depth + 1) for v in value]
    if hasattr(value, "__dict__") and not type(value).__name__.endswith("Backend"):
        return {"class": type(value).__name__, "attributes": state(vars(value), depth + 1)}
    return type(value).__name__


def request(wanted: dict[str, Any], account: str = OTHER_ACCOUNT) -> dict[str, Any]:
    return {"Resources": wanted, "Parameters": {"Stage": "local"}, "StackName": stack_name("local"),
            "AccountId": account, "Region": LOCAL_REGION}


@pytest.fixture
def via_cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The template deployed through moto's CloudFormation into LOCAL_ACCOUNT, as a single
    emulator process deploys it: logical id -> model. (local_aws restores a snapshot that
    leaves the stack out.)"""
    from moto import mock_aws
    from moto.cloudformation.models import cloudformation_backends

    from chalicelib.core.aws import new_client
    from devstack.endpoints import SERVICE_ENV_VARS

    for name in ("AWS_ENDPOINT_URL", *SERVICE_ENV_VARS.values(), "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        deploy_stack(new_client("cloudformation", region_name=LOCAL_REGION), "local", resources.template())
        stack, = cloudformation_backends[LOCAL_ACCOUNT][LOCAL_REGION].stacks.values()
        yield dict(stack.resource_map)


def test_the_template_s_resources_are_the_ones_moto_s_cloudformation_makes(via_cloudformation):
    """The same template, straight from its resources, in another account."""
    wanted = made_directly(resources.template())
    made = emulator_resources.create(request(wanted))

    assert sorted(made) == sorted(wanted) and made.index("StackKey") < made.index("SesFeedbackTopic")
    expected, direct = via_cloudformation, emulator_resources._made[(OTHER_ACCOUNT, LOCAL_REGION)]
    assert set(made) <= set(expected)  # nothing CloudFormation would not make
    for logical in made:
        assert state(direct[logical]) == state(expected[logical]), logical
    # The properties that refer to other resources point at the ones made here.
    key = direct["StackKey"].arn
    assert key.startswith(f"arn:aws:kms:{LOCAL_REGION}:{OTHER_ACCOUNT}:")
    assert direct["SesFeedbackTopic"].kms_master_key_id == key
    redrive = direct["NotificationsQueue"].redrive_policy
    assert redrive["deadLetterTargetArn"] == direct["NotificationsDLQ"].queue_arn
    assert direct["LeadsTable"].latest_stream_label  # the runtime reads the stream


def test_the_same_resources_again_make_nothing(local_aws):
    wanted = made_directly(resources.template())
    assert emulator_resources.create(request(wanted)) != []
    assert emulator_resources.create(request(wanted)) == []


def test_after_moto_s_reset_the_same_resources_are_made_again(local_aws, monkeypatch):
    """POST /moto-api/reset empties every backend; the record of what was made must go too,
    or provisioning again would find nothing to make and leave the emulator empty."""
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import sqs_backends

    monkeypatch.setattr(BackendDict, "reset", BackendDict.reset)  # put back after the test
    emulator_resources.forget_on_reset()
    installed = BackendDict.reset.__func__
    emulator_resources.forget_on_reset()
    assert BackendDict.reset.__func__ is installed  # once, however often it is called
    wanted = made_directly(resources.template())
    queues = sum(r["Type"] == "AWS::SQS::Queue" for r in wanted.values())
    assert emulator_resources.create(request(wanted)) != []
    BackendDict.reset()
    assert sqs_backends[OTHER_ACCOUNT][LOCAL_REGION].queues == {}
    assert sorted(emulator_resources.create(request(wanted))) == sorted(wanted)
    assert len(sqs_backends[OTHER_ACCOUNT][LOCAL_REGION].queues) == queues > 0


def test_nothing_of_a_bad_request_is_made(local_aws):
    from moto.sqs.models import sqs_backends

    template = resources.template()
    wanted = made_directly(template)
    unknown_ref = {**wanted, "Extra": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nowhere"}}}}
    cycle = {"A": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["B", "Arn"]}}},
             "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["A", "Arn"]}}}}
    join = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Join": ["-", ["a", "b"]]}}}}
    alarm = {**wanted, "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}}}  # AWS only
    for bad in (alarm, unknown_ref, cycle, join, ["LeadsTable"]):
        with pytest.raises(emulator_resources.BadResources):
            emulator_resources.create(request(bad) if isinstance(bad, dict) else bad)
    for incomplete in ({"Resources": wanted}, {**request(wanted), "Parameters": []}):
        with pytest.raises(emulator_resources.BadResources):
            emulator_resources.create(incomplete)
    assert sqs_backends[OTHER_ACCOUNT][LOCAL_REGION].queues == {}
    assert not emulator_resources._made.get((OTHER_ACCOUNT, LOCAL_REGION))


def test_making_resources_leaves_moto_s_cloudformation_unimported_until_it_is_used():
    """The point of it all (1.5 CPU-s per emulator process): checked in a fresh interpreter."""
    import subprocess

    from infra.project import PROJECT_ROOT

    script = (
        "import json, sys\n"
        "from devstack import emulator_resources\n"
        "from devstack.provision import made_directly\n"
        "from infra import resources\n"
        "wanted = made_directly(resources.template())\n"
        "made = emulator_resources.create({'Resources': wanted, 'Parameters': {'Stage': 'local'},\n"
        "    'StackName': 'leadflow-local', 'AccountId': '123456789012', 'Region': 'us-east-1'})\n"
        "print(json.dumps([len(made), 'moto.cloudformation' in sys.modules,\n"
        "    'moto.cloudformation.exceptions' in sys.modules]))\n"
        "import moto.cloudformation.models\n"  # the real package still imports afterwards
        "print(moto.cloudformation.models.Stack.__name__)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.splitlines()
    assert json.loads(first) == [len(made_directly(resources.template())), False, True]
    assert second == "Stack"


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[str, Any]:
    answered: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    chunks = app(environ, lambda status, headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


def test_the_resources_path_answers_a_bad_request_clearly_and_passes_everything_else_on(local_aws):
    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b'"moto"']

    app = emulator_resources.with_resources(moto)
    path = emulator_resources.RESOURCES_PATH
    assert call(app, "POST", "/") == ("200 OK", "moto")
    status, answer = call(app, "GET", path)
    assert status == "400 Bad Request" and "POST" in answer["message"]
    status, answer = call(app, "POST", path, b"{not json")
    assert status == "400 Bad Request" and answer["message"]
    status, answer = call(app, "POST", path, json.dumps({"Resources": []}).encode())
    assert status == "400 Bad Request" and "Resources" in answer["message"]
    tables, _ = split_tables(resources.template())
    status, answer = call(app, "POST", path, json.dumps(request(tables)).encode())
    assert status == "200 OK" and sorted(answer["created"]) == sorted(tables)
