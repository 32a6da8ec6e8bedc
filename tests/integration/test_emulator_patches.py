"""The emulator's per-request shortcuts (devstack/emulator_dynamodb.py parse_once,
devstack/emulator_sqs.py retained and its clock, devstack/ses_outbox.py's header
parsing): still in place in the emulator process, and answering as moto did."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.support.aws import PROJECT_ROOT

INSTALLED = textwrap.dedent(
    """
    from devstack import emulator, emulator_dynamodb, emulator_sqs
    emulator.cache_method_names()
    emulator.cache_method_names()
    emulator.cheaper_random_strings()
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models as sqs_models_for_handles
    assert MotoRandom.get_random_string is emulator.random_string
    assert sqs_models_for_handles.generate_receipt_handle is emulator.receipt_handle
    from moto.core import responses as core_responses
    assert core_responses.method_names_from_class._devstack
    assert not hasattr(core_responses.method_names_from_class.__wrapped__, "__wrapped__")
    emulator_dynamodb.install()
    from devstack import ses_outbox
    ses_outbox.install()
    from moto.ses import models as ses_models
    assert isinstance(ses_models.email, ses_outbox._HeadersOnlyEmail)
    emulator_sqs.install()
    emulator_sqs.install()  # twice, as a restarted hook would: no double wrapping
    from moto.dynamodb import models as dynamodb_models, responses
    from moto.sqs import models as sqs_models
    assert hasattr(responses.UpdateExpressionParser.make, "cache_info")
    assert dynamodb_models.UpdateExpressionParser.make is responses.UpdateExpressionParser.make
    from moto.dynamodb.parsing import validators
    assert validators.deepcopy is emulator_dynamodb.clone_tree
    assert validators.DepthFirstTraverser.process is emulator_dynamodb.process
    assert validators.DepthFirstTraverser.nodes_to_be_processed is emulator_dynamodb.nodes_to_be_processed
    assert validators.DepthFirstTraverser.traverse_node_recursively is emulator_dynamodb.traverse_node_recursively
    from moto.core import serialize
    from moto.dynamodb.parsing import ast_nodes
    assert ast_nodes.Node.find_clauses._devstack and validators.ActionCountValidator.traverse._devstack
    assert validators.OverlappingPathsValidator.traverse._devstack
    assert validators.UpdateExpressionValidator.validate is emulator_dynamodb.checked_once
    from moto.dynamodb import comparisons
    from moto.dynamodb.models import table as table_module
    assert comparisons.ConditionExpressionParser._lex_condition_expression._devstack
    assert table_module.Table.all_items._devstack
    assert dynamodb_models.DynamoDBBackend.update_item.__wrapped__._devstack  # under the write lock
    assert dynamodb_models.copy.shortcut is emulator_dynamodb.shared_item
    assert table_module.copy.shortcut is emulator_dynamodb.query_results
    structure = serialize.BaseJSONSerializer._serialize_type_structure
    assert structure._devstack and not hasattr(structure.__wrapped__, "__wrapped__")
    backend = sqs_models.SQSBackend
    assert backend.is_message_valid_based_on_retention_period is emulator_sqs.retained
    assert sqs_models.unix_time.__wrapped__.__module__ == "moto.core.utils"
    assert sqs_models.unix_time_millis.__wrapped__.__module__ == "moto.core.utils"
    assert not hasattr(sqs_models.unix_time.__wrapped__, "__wrapped__")
    print("ok")
    """
)


def test_the_emulator_installs_every_shortcut_once():
    """What devstack.emulator.serve installs (it calls these installs) is in place."""
    source = (PROJECT_ROOT / "devstack" / "emulator.py").read_text()
    assert "emulator_dynamodb.install()" in source and "emulator_sqs.install()" in source
    assert "cache_method_names()" in source and "cheaper_random_strings()" in source
    assert "DomainDispatcherApplication(cloudformation_when_asked(create_backend_app))" in source
    assert "direct_json_targets(dispatcher)" in source
    result = subprocess.run([sys.executable, "-c", INSTALLED], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_one_update_expression_sent_many_times_applies_each_requests_own_values(emulator):
    """The parsed expression is shared between requests: each must still apply its own values
    and names, for new and existing items, one after another and at once."""
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]
    run = uuid.uuid4().hex
    expression = "SET #f = :f, hits = if_not_exists(hits, :zero) + :one"

    def update(i: int) -> None:
        dynamodb.update_item(
            TableName=table, Key={"key": {"S": f"parse-{run}-{i % 10}"}}, UpdateExpression=expression,
            ExpressionAttributeNames={"#f": "fingerprint"},
            ExpressionAttributeValues={":f": {"S": f"value-{i}"}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
        )

    for i in range(10):
        update(i)  # new items
    for i in range(10, 20):
        update(i)  # existing items
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(update, range(20, 60)))
    for key in range(10):
        item = dynamodb.get_item(TableName=table, Key={"key": {"S": f"parse-{run}-{key}"}}, ConsistentRead=True)["Item"]
        assert item["hits"] == {"N": "6"}
        assert int(item["fingerprint"]["S"].split("-")[1]) % 10 == key


def test_a_bad_update_expression_is_refused_every_time(emulator):
    from botocore.exceptions import ClientError

    dynamodb = emulator.client("dynamodb")
    for _ in range(2):  # a failed parse is not remembered as a success
        try:
            dynamodb.update_item(TableName=emulator.env["IDEMPOTENCY_TABLE"], Key={"key": {"S": "bad"}},
                                 UpdateExpression="SET = :v", ExpressionAttributeValues={":v": {"S": "x"}})
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
        else:
            raise AssertionError("a malformed UpdateExpression was accepted")


def test_receive_still_drops_messages_past_the_queues_retention(emulator):
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName=f"retention-{uuid.uuid4().hex[:12]}",
                           Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["kept"]
    sqs.delete_queue(QueueUrl=url)
