"""Template resources made in an emulator process without moto's CloudFormation.

Importing moto.cloudformation imports every backend it can create (EC2 and its instance
types, API Gateway and its OpenAPI validator, ...): 1.5 CPU-s of every emulator process that
deployed leadflow's template through it, for a handful of tables, queues and topics. Each
emulator process answers RESOURCES_PATH instead: a POST of {"Resources": {logical id:
resource}, "Parameters": {...}, "StackName": ..., "AccountId": ..., "Region": ...} makes
each resource with moto's own CloudFormation model for its type (MODELS: the class moto's
CloudFormation looks up for the type and calls create_from_cloudformation_json on, as
moto/cloudformation/parsing.py parse_and_create_resource does), so every property means what
it means in a stack. Ref, Fn::GetAtt and Fn::Sub are resolved here, in dependency order, to
the parameters, the pseudo parameters and the resources made (resolve(); parsing.py's
clean_json does this for a stack; it is rewritten here because importing it is the cost).

CloudFormation itself stays in the emulator for anyone who deploys a stack (the deploy
rehearsal does); moto imports it at the first CloudFormation request.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

RESOURCES_PATH = "/devstack/resources"
TABLE_TYPE = "AWS::DynamoDB::Table"

# Every type moto's CloudFormation makes of leadflow's template (infra/resources.py), and the
# model class it makes each with. The template's other types are either made by
# devstack/provision.py's direct calls (GAP_TYPES) or exist only on AWS (alarms, policies).
MODELS: dict[str, tuple[str, str]] = {
    TABLE_TYPE: ("moto.dynamodb.models.table", "Table"),
    "AWS::SQS::Queue": ("moto.sqs.models", "Queue"),
    "AWS::SNS::Topic": ("moto.sns.models", "Topic"),
    "AWS::S3::Bucket": ("moto.s3.models", "FakeBucket"),
    "AWS::KMS::Key": ("moto.kms.models", "Key"),
    "AWS::Logs::LogGroup": ("moto.logs.models", "LogGroup"),
    "AWS::CloudWatch::Dashboard": ("moto.cloudwatch.models", "Dashboard"),
}

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
# What this process made, per account and region: logical id -> model. A second POST of the
# same resources makes nothing again (provisioning is repeatable, like deploying a stack
# that exists already).
_made: dict[tuple[str, str], dict[str, Any]] = {}


def forget_on_reset() -> None:
    """moto's reset (POST /moto-api/reset, BackendDict.reset) empties every backend: what
    this process made goes with it, so a later POST makes the resources again."""
    from moto.core.base_backend import BackendDict

    real = BackendDict.reset.__func__  # type: ignore[attr-defined]
    if getattr(real, "_devstack", False):
        return

    def reset(cls: type[BackendDict[Any]]) -> None:
        real(cls)
        _made.clear()

    reset._devstack = True  # type: ignore[attr-defined]
    BackendDict.reset = classmethod(reset)  # type: ignore[method-assign,assignment]


class BadResources(ValueError):
    """The request is not a set of resources this endpoint can make."""


@contextmanager
def _without_cloudformation() -> Iterator[None]:
    """moto's models import moto.cloudformation.exceptions for their GetAtt error (e.g.
    moto/kms/models.py Key.get_cfn_attribute), and importing a submodule imports its package,
    whose __init__ imports all of CloudFormation. Meanwhile the package is a bare placeholder
    (the same folder, no __init__ run), so only the exceptions module is read; the real
    package is imported as ever at the first CloudFormation request."""
    if "moto.cloudformation" in sys.modules:
        yield
        return
    import moto

    folder = f"{moto.__path__[0]}/cloudformation"
    placeholder = types.ModuleType("moto.cloudformation")
    placeholder.__path__ = [folder]
    sys.modules["moto.cloudformation"] = placeholder
    try:
        importlib.import_module("moto.cloudformation.exceptions")
        yield
    finally:
        if sys.modules.get("moto.cloudformation") is placeholder:
            del sys.modules["moto.cloudformation"]
        if getattr(moto, "cloudformation", None) is placeholder:
            delattr(moto, "cloudformation")


def _model(kind: str) -> Any:
    module, name = MODELS[kind]
    return getattr(importlib.import_module(module), name)


def _sub_parts(arg: Any) -> tuple[str, dict[str, Any]]:
    """Fn::Sub's text and its own variables (its short form has none)."""
    if isinstance(arg, str):
        return arg, {}
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        return arg[0], arg[1]
    raise BadResources(f"Fn::Sub takes a text or [text, variables], not {json.dumps(arg)[:80]}")


def _references(node: Any) -> set[str]:
    """The names `node` refers to: Ref, Fn::GetAtt and ${...} in Fn::Sub."""
    if isinstance(node, list):
        return set().union(*map(_references, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    if len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref" and isinstance(arg, str):
            return {arg}
        if fn == "Fn::GetAtt":
            target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0] if isinstance(arg, list) and arg else None
            return {target} if isinstance(target, str) else set()
        if fn == "Fn::Sub":
            text, variables = _sub_parts(arg)
            named = {match.split(".", 1)[0] for match in _SUB.findall(text)}
            return (named - set(variables)) | _references(variables)
    return set().union(*map(_references, node.values())) if node else set()


class _Scope:
    """The names a resource's properties may refer to: parameters, pseudo parameters, and
    the resources made before it."""

    def __init__(self, names: dict[str, Any], made: dict[str, Any]) -> None:
        self.names = names
        self.made = made

    def ref(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        return self.made[name].physical_resource_id

    def attribute(self, name: str, attribute: str) -> Any:
        return self.made[name].get_cfn_attribute(attribute)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(value) for value in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                name, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.attribute(name, attribute)
            if fn == "Fn::Sub":
                text, variables = _sub_parts(arg)
                local = {key: self.resolve(value) for key, value in variables.items()}
                return self.sub(text, local)
            if fn.startswith("Fn::"):
                raise BadResources(f"{fn} is not resolved here (only Ref, Fn::GetAtt and Fn::Sub)")
        return {key: self.resolve(value) for key, value in node.items()}

    def sub(self, text: str, local: dict[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.made:
                return str(self.attribute(*name.split(".", 1)))
            return str(self.ref(name))

        return _SUB.sub(value, text).replace("${!", "${")


def _in_dependency_order(resources: dict[str, Any], known: set[str]) -> list[str]:
    """Logical ids, each after every resource it refers to; a reference to nothing known, or
    a cycle, is refused."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical: str) -> None:
        if logical in order:
            return
        if logical in visiting:
            raise BadResources(f"{logical}: refers to itself through its references")
        visiting.add(logical)
        for name in sorted(_references(resources[logical].get("Properties", {}))):
            if name in resources:
                visit(name)
            elif name not in known:
                raise BadResources(f"{logical}: refers to {name}, neither a parameter nor one of the resources")
        visiting.discard(logical)
        order.append(logical)

    for logical in resources:
        visit(logical)
    return order


def create(request: Any) -> list[str]:
    """Make each resource of the request that this process has not made yet; the logical ids
    made, in the order made. A bad request makes nothing."""
    if not isinstance(request, dict) or not isinstance(request.get("Resources"), dict):
        raise BadResources("the body must be an object with Resources: logical id -> resource")
    resources: dict[str, Any] = request["Resources"]
    for logical, resource in resources.items():
        if not (isinstance(resource, dict) and resource.get("Type") in MODELS
                and isinstance(resource.get("Properties", {}), dict)):
            raise BadResources(f"{logical}: not a resource of a type made here ({', '.join(sorted(MODELS))})")
    account, region = str(request.get("AccountId", "")), str(request.get("Region", ""))
    stack = str(request.get("StackName", ""))
    parameters = request.get("Parameters", {})
    if not (account and region and stack and isinstance(parameters, dict)):
        raise BadResources("AccountId, Region and StackName are required; Parameters is an object")
    made = _made.setdefault((account, region), {})
    names = {**{str(k): v for k, v in parameters.items()}, "AWS::AccountId": account, "AWS::Region": region,
             "AWS::Partition": "aws", "AWS::StackName": stack, "AWS::URLSuffix": "amazonaws.com"}
    order = _in_dependency_order(resources, set(names) | set(made))
    scope = _Scope(names, made)
    target = _Target(account, region, stack)
    created = []
    with _without_cloudformation():
        for logical in order:
            if logical not in made:
                _make(logical, resources[logical], scope, target)
                created.append(logical)
    return created


class _Target(NamedTuple):
    """Where resources are made, and the stack moto's models are told they belong to."""

    account: str
    region: str
    stack: str

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack}/devstack"


def _make(logical: str, resource: dict[str, Any], scope: _Scope, target: _Target) -> None:
    kind = resource["Type"]
    model = _model(kind)
    properties = scope.resolve(resource.get("Properties", {}))
    name_property = model.cloudformation_name_type()
    # A resource without a name is named as moto's CloudFormation names it (the stack, the
    # logical id); only the Key has none in leadflow's template, and its name is unused.
    name = properties.get(name_property) if name_property else None
    made = model.create_from_cloudformation_json(
        name or f"{target.stack}-{logical}", {"Type": kind, "Properties": properties}, target.account,
        target.region, LogicalId=logical, StackId=target.stack_id, ResourceType=kind,
    )
    made.cf_resource_type, made.logical_resource_id = kind, logical  # as parse_and_create_resource marks it
    scope.made[logical] = made


def with_resources(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """`app`, answering RESOURCES_PATH itself (POST: make the resources; the logical ids made)."""

    def resources(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != RESOURCES_PATH:
            return app(environ, start_response)
        status, answer = "200 OK", dict[str, Any]()
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise BadResources(f"POST the resources to {RESOURCES_PATH}")
            size = int(environ.get("CONTENT_LENGTH") or 0)
            answer = {"created": create(json.loads(environ["wsgi.input"].read(size) or b"null"))}
        except ValueError as error:  # BadResources, or a body that is not JSON
            status, answer = "400 Bad Request", {"message": str(error)}
        except Exception as error:  # noqa: BLE001 - moto's refusal of a resource, said back to the caller
            status, answer = "400 Bad Request", {"message": f"{type(error).__name__}: {error}"}
        data = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return resources
