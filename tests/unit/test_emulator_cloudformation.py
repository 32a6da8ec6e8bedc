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
