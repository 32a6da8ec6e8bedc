"""The emulator's DynamoDB process makes its tables without CloudFormation
(devstack/emulator_tables.py): the same tables moto's CloudFormation makes, once."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from devstack import emulator_tables
from devstack.provision import LOCAL_ACCOUNT, LOCAL_REGION, Resolver, split_tables, table_resources
from infra import resources

OTHER_ACCOUNT = "210987654321"
# What differs between any two tables made apart: when, their ids, and the account in their ARNs.
VARYING = ("CreationDateTime", "TableId", "LatestStreamLabel", "TableArn", "LatestStreamArn", "IndexArn")


def comparable(description: Any) -> Any:
    if isinstance(description, dict):
        return {k: comparable(v) for k, v in description.items() if k not in VARYING}
    if isinstance(description, list):
        return [comparable(v) for v in description]
    return description


def tables_of(account: str) -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][LOCAL_REGION].tables


def test_the_template_s_tables_are_the_ones_moto_s_cloudformation_makes(local_aws):
    """local_aws provisioned LOCAL_ACCOUNT through moto's CloudFormation; the same tables are
    made here in another account, straight from their resources."""
    wanted = table_resources(Resolver("local", resources.template()))
    made = emulator_tables.create(wanted, OTHER_ACCOUNT, LOCAL_REGION)

    assert sorted(made) == sorted(r["Properties"]["TableName"] for r in wanted.values()) != []
    via_cloudformation, direct = tables_of(LOCAL_ACCOUNT), tables_of(OTHER_ACCOUNT)
    for name in made:
        assert comparable(direct[name].describe()) == comparable(via_cloudformation[name].describe())
    assert direct[wanted["LeadsTable"]["Properties"]["TableName"]].latest_stream_label  # the runtime reads it


def test_tables_that_exist_are_left_alone(local_aws):
    wanted = table_resources(Resolver("local", resources.template()))
    assert emulator_tables.create(wanted, LOCAL_ACCOUNT, LOCAL_REGION) == []


def test_anything_but_a_resolved_table_is_refused_and_nothing_is_made(local_aws):
    wanted = table_resources(Resolver("local", resources.template()))
    queue = split_tables(resources.template())[1]["Resources"]["NotificationsQueue"]
    for bad in ({**wanted, "NotificationsQueue": queue},
                {"Raw": resources.template()["Resources"]["LeadsTable"]},  # its name still an Fn::Sub
                ["LeadsTable"]):
        with pytest.raises(emulator_tables.BadTables):
            emulator_tables.create(bad, OTHER_ACCOUNT, LOCAL_REGION)
    assert tables_of(OTHER_ACCOUNT) == {}


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[str, Any]:
    answered: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    chunks = app(environ, lambda status, headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


def test_the_tables_path_answers_a_bad_request_clearly_and_passes_everything_else_on(local_aws):
    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b'"moto"']

    app = emulator_tables.with_tables(moto)
    assert call(app, "POST", "/") == ("200 OK", "moto")
    status, answer = call(app, "GET", emulator_tables.TABLES_PATH)
    assert status == "400 Bad Request" and "POST" in answer["message"]
    status, answer = call(app, "POST", emulator_tables.TABLES_PATH, b"{not json")
    assert status == "400 Bad Request" and answer["message"]
    status, answer = call(app, "POST", emulator_tables.TABLES_PATH, json.dumps({"Resources": []}).encode())
    assert status == "400 Bad Request" and "Resources" in answer["message"]
    body = {"Resources": table_resources(Resolver("local", resources.template())), "AccountId": OTHER_ACCOUNT,
            "Region": LOCAL_REGION}
    status, answer = call(app, "POST", emulator_tables.TABLES_PATH, json.dumps(body).encode())
    assert status == "200 OK" and sorted(answer["created"]) == sorted(tables_of(OTHER_ACCOUNT))
