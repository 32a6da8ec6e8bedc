"""A cheaper template parse for the emulator's CloudFormation.

moto parses every template with PyYAML's pure-Python loader, JSON ones too
(moto/cloudformation/models.py: Stack.parse_template and
ChangeSet._parse_template try yaml.load first, json.loads only when that
fails). leadflow's template is JSON (infra/resources.py) and its YAML parse
was a third of the emulator's CPU for provisioning a stack. JSON is tried
first here; a text that is not JSON (a YAML template, with or without
CloudFormation's short-form tags) is parsed by moto's own code, unchanged.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any


def json_first(parse: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    @functools.wraps(parse)
    def parse_template(template: str) -> dict[str, Any]:
        try:
            parsed = json.loads(template)
        except ValueError:
            return parse(template)
        return parsed if isinstance(parsed, dict) else parse(template)

    parse_template._devstack = True  # type: ignore[attr-defined]
    return parse_template


def install() -> None:
    from moto.cloudformation.models import ChangeSet, Stack

    if getattr(Stack.parse_template, "_devstack", False):
        return
    setattr(Stack, "parse_template", staticmethod(json_first(Stack.parse_template)))  # noqa: B010 - a staticmethod

    def parse_change_set(self: Any) -> None:
        self.template_dict = Stack.parse_template(self.template)

    ChangeSet._parse_template = parse_change_set  # type: ignore[method-assign]
