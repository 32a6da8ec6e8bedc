"""The emulator's CloudFormation parses a JSON template as JSON (devstack/emulator_cloudformation.py)."""

from __future__ import annotations

import json

from moto.cloudformation.models import Stack

from devstack import emulator_cloudformation
from infra import resources

YAML_TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-queue"
"""


def moto_s_own_parse():
    parse = Stack.parse_template
    return getattr(parse, "__wrapped__", parse)


def test_leadflow_s_template_parses_to_what_moto_s_own_parse_gives():
    text = json.dumps(resources.template())
    assert emulator_cloudformation.json_first(moto_s_own_parse())(text) == moto_s_own_parse()(text)


def test_a_yaml_template_and_its_short_form_tags_still_go_through_moto_s_parse():
    seen: list[str] = []

    def moto_parse(text: str) -> dict:
        seen.append(text)
        return moto_s_own_parse()(text)

    parsed = emulator_cloudformation.json_first(moto_parse)(YAML_TEMPLATE)
    assert seen == [YAML_TEMPLATE]
    assert parsed["Resources"]["Queue"]["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-queue"}


def test_install_puts_the_json_parse_in_front_once():
    emulator_cloudformation.install()
    emulator_cloudformation.install()
    parse = Stack.parse_template
    assert getattr(parse, "_devstack", False)
    assert not getattr(parse.__wrapped__, "_devstack", False)  # wrapped once, around moto's own


def test_the_emulator_installs_it_when_the_first_cloudformation_request_makes_moto_s_app():
    """A stack start sends no CloudFormation request (devstack/emulator_resources.py), so the
    emulator pays for moto's CloudFormation only when someone deploys a stack."""
    import subprocess
    import sys

    from infra.project import PROJECT_ROOT

    script = (
        "import sys\n"
        "from devstack.emulator import cloudformation_when_asked\n"
        "made = []\n"
        "factory = cloudformation_when_asked(lambda service: made.append(service) or service)\n"
        "factory('sqs')\n"
        "print('moto.cloudformation' in sys.modules)\n"
        "factory('cloudformation')\n"
        "from moto.cloudformation.models import Stack\n"
        "print(getattr(Stack.parse_template, '_devstack', False), made)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False", "True ['sqs', 'cloudformation']"]
