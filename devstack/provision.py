"""Create leadflow's resources in the emulator from infra/resources.py.

A split emulator (devstack/endpoints.py: DynamoDB in a process of its own) gets the
template's resources without CloudFormation (devstack/emulator_resources.py), each made by
moto's CloudFormation model for its type: the tables in the DynamoDB process, the rest in the
main one. One emulator process, and in-process moto, deploy the template through moto's
CloudFormation, like a real stack. Either way the few resource types and properties moto's
CloudFormation skips (TTL, SNS subscriptions, the SES configuration set and its event
destination) are then applied from the same template with direct calls.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from devstack import endpoints
from devstack.emulator_resources import MODELS, RESOURCES_PATH, TABLE_TYPE
from infra import project, resources
from infra.project import PROJECT_ROOT, stack_name

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"


def local_client(service: str, endpoint: str) -> Any:
    """A client for `service` of the emulator whose main address is `endpoint` (devstack.endpoints
    says which of its processes serves it); "" for in-process moto."""
    return client_at(service, endpoints.service_endpoint(service, endpoint))


def client_at(service: str, url: str) -> Any:
    """A client for `service` at exactly `url` (one emulator process)."""
    from chalicelib.core.aws import new_client

    return new_client(
        service,
        endpoint_url=url or None,
        region_name=LOCAL_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Resolver:
    """Resolves the intrinsic functions the template uses, for direct calls."""

    def __init__(self, stage: str, template: dict[str, Any]) -> None:
        self.stage = stage
        self.template = template

    def sub(self, text: str) -> str:
        values = {"Stage": self.stage, "AWS::AccountId": LOCAL_ACCOUNT, "AWS::Region": LOCAL_REGION}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)

    def physical(self, logical: str) -> str:
        props = self.template["Resources"][logical]["Properties"]
        for name_key in ("TableName", "TopicName", "QueueName", "BucketName", "Name"):
            if name_key in props:
                return str(self.value(props[name_key]))
        raise KeyError(logical)

    def arn(self, logical: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        name = self.physical(logical)
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"
        raise KeyError(logical)

    def value(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Ref":
                kind = self.template["Resources"][arg]["Type"]
                return self.arn(arg) if kind == "AWS::SNS::Topic" else self.physical(arg)
            if fn == "Fn::GetAtt" and arg[1] == "Arn":
                return self.arn(arg[0])
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        return node


def deploy_stack(cloudformation: Any, stage: str, template: dict[str, Any]) -> None:
    name = stack_name(stage)
    existing = cloudformation.list_stacks()["StackSummaries"]
    if any(s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE" for s in existing):
        return
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )


# The resource types moto's CloudFormation skips or half-creates that the
# local stack needs (alarms, dashboards and policies it skips are not needed).
GAP_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SNS::Subscription",
        "AWS::SES::ConfigurationSet",
        "AWS::SES::ConfigurationSetEventDestination",
    }
)


def apply_gaps(endpoint: str, resolver: Resolver) -> None:
    """Apply what moto's CloudFormation leaves out, idempotently."""
    dynamodb = local_client("dynamodb", endpoint)
    sns = local_client("sns", endpoint)
    sesv2 = local_client("sesv2", endpoint)
    for resource in resolver.template["Resources"].values():
        kind = resource["Type"]
        if kind not in GAP_TYPES:  # only these need resolving; others may use intrinsics it lacks
            continue
        props = resolver.value(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table" and "TimeToLiveSpecification" in props:
            ttl = props["TimeToLiveSpecification"]
            current = dynamodb.describe_time_to_live(TableName=props["TableName"])
            if current["TimeToLiveDescription"]["TimeToLiveStatus"] != "ENABLED":
                dynamodb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
        elif kind == "AWS::SNS::Subscription":
            existing = sns.list_subscriptions_by_topic(TopicArn=props["TopicArn"])["Subscriptions"]
            if not any(s["Endpoint"] == props["Endpoint"] for s in existing):
                sns.subscribe(
                    TopicArn=props["TopicArn"],
                    Protocol=props["Protocol"],
                    Endpoint=props["Endpoint"],
                    Attributes={"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()},
                )
        elif kind == "AWS::SES::ConfigurationSet":
            names = sesv2.list_configuration_sets().get("ConfigurationSets", [])
            if props["Name"] not in names:
                sesv2.create_configuration_set(ConfigurationSetName=props["Name"])
        elif kind == "AWS::SES::ConfigurationSetEventDestination":
            destination = props["EventDestination"]
            try:
                sesv2.create_configuration_set_event_destination(
                    ConfigurationSetName=props["ConfigurationSetName"],
                    EventDestinationName=destination["Name"],
                    EventDestination={
                        "Enabled": destination["Enabled"],
                        "MatchingEventTypes": [t.upper() for t in destination["MatchingEventTypes"]],
                        "SnsDestination": {"TopicArn": destination["SnsDestination"]["TopicARN"]},
                    },
                )
            except sesv2.exceptions.AlreadyExistsException:
                pass
            except Exception:  # noqa: BLE001 - older emulators lack the call; the stage config names the topic
                pass


def aws_only_resources(endpoint: str, stage: str = "local") -> dict[str, int]:
    """Resource types (and how many of each) in the template that the emulator does not have:
    neither moto's CloudFormation nor the direct calls here make them (alarms, policies)."""
    template = resources.template()
    if split_dynamodb_url(endpoint) is not None:  # no CloudFormation stack
        created = set(made_directly(template))
    else:
        cloudformation = local_client("cloudformation", endpoint)
        created = set()
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name(stage)):
            created.update(r["LogicalResourceId"] for r in page["StackResourceSummaries"])
    missing: dict[str, int] = {}
    for logical, resource in template["Resources"].items():
        if logical not in created and resource["Type"] not in GAP_TYPES:
            missing[resource["Type"]] = missing.get(resource["Type"], 0) + 1
    return dict(sorted(missing.items(), key=lambda pair: (-pair[1], pair[0])))


def verify_senders(endpoint: str, addresses: list[str]) -> None:
    """SES refuses unverified senders; locally their domains are verified up front."""
    ses = local_client("ses", endpoint)
    for domain in sorted({a.rsplit("@", 1)[-1].strip(" >") for a in addresses if "@" in a}):
        ses.verify_domain_identity(Domain=domain)


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's variables from .chalice/config.json (this project's)."""
    return project.stage_environment(PROJECT_ROOT, stage)


def made_directly(template: dict[str, Any]) -> dict[str, Any]:
    """The template's resources an emulator process makes without CloudFormation
    (devstack/emulator_resources.py: every type moto's CloudFormation would make)."""
    return {name: r for name, r in template["Resources"].items() if r["Type"] in MODELS}


def split_tables(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the tables, every other resource made directly), for a split emulator's two
    processes; the tables reference nothing else."""
    made = made_directly(template)
    tables = {name: r for name, r in made.items() if r["Type"] == TABLE_TYPE}
    return tables, {name: r for name, r in made.items() if name not in tables}


def split_dynamodb_url(endpoint: str) -> str | None:
    """The address of the emulator's DynamoDB process when it runs apart from `endpoint`
    (devstack/endpoints.py); None for one process or in-process moto."""
    url = endpoints.service_endpoint("dynamodb", endpoint)
    return url if url != endpoint else None


def make_resources(url: str, stage: str, resources_: dict[str, Any]) -> list[str]:
    """Make `resources_` (template resources, intrinsics unresolved) in the emulator process at
    `url`; the logical ids it made (none when it made them already)."""
    body = json.dumps({"Resources": resources_, "Parameters": {"Stage": stage}, "StackName": stack_name(stage),
                       "AccountId": LOCAL_ACCOUNT, "Region": LOCAL_REGION}).encode()
    request = urllib.request.Request(url.rstrip("/") + RESOURCES_PATH, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return [str(name) for name in json.loads(response.read())["created"]]
    except urllib.error.HTTPError as error:
        refusal = error.read().decode(errors="replace")
        raise RuntimeError(f"the emulator at {url} refused the resources: {refusal}") from None


def deploy_split(endpoint: str, stage: str, template: dict[str, Any]) -> None:
    """Deploy the template into every process of a split emulator without CloudFormation
    (devstack/emulator_resources.py): its tables into the DynamoDB one, the rest into the
    main one. So the main one holds no table: a DynamoDB call that reached the wrong process
    fails loudly instead of finding an empty table. One process (LEADFLOW_EMULATOR_SPLIT=0)
    and in-process moto deploy the template through CloudFormation, as a stack."""
    dynamodb_url = split_dynamodb_url(endpoint)
    if dynamodb_url is None:
        deploy_stack(client_at("cloudformation", endpoint), stage, template)
        return
    tables, rest = split_tables(template)
    make_resources(dynamodb_url, stage, tables)
    make_resources(endpoint, stage, rest)


def provision(endpoint: str, stage: str = "local") -> dict[str, str]:
    """Create every resource; return the values only known after creation."""
    template = resources.template()
    deploy_split(endpoint, stage, template)
    apply_gaps(endpoint, Resolver(stage, template))
    env = stage_environment(stage)
    verify_senders(endpoint, [env.get("TEAM_SENDER", ""), env.get("CUSTOMER_SENDER", "")])
    table = local_client("dynamodb", endpoint).describe_table(TableName=env["LEADS_TABLE"])
    return {"LEADS_STREAM_ARN": table["Table"]["LatestStreamArn"]}


def provision_in_process(stage: str = "local") -> dict[str, str]:
    """Create the resources inside an active in-process moto mock (unit tests).

    The CloudFormation route is the same; only the endpoint is moto's
    in-process patch instead of the server.
    """
    return provision(endpoint="", stage=stage)
