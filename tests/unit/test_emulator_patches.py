"""The emulator's shortcuts against moto's own code on the same inputs (no server; nothing installed here)."""

from __future__ import annotations

import contextlib
import copy
import email
import email.policy
import functools
import json
import time
import uuid
from types import SimpleNamespace

import pytest

from devstack import emulator_sqs, ses_outbox
from devstack.emulator_dynamodb import parse_once


def test_retention_check_agrees_with_moto_on_both_sides_of_the_period():
    from moto.sqs.models import SQSBackend, sqs_backends

    backend = sqs_backends["123456789012"]["eu-west-3"]
    name = f"retention-{uuid.uuid4().hex[:12]}"
    backend.create_queue(name, MessageRetentionPeriod="60")
    message = backend.send_message(name, "body")
    for age in (0, 59, 61, 3600):
        message.sent_timestamp = int((time.time() - age) * 1000)
        moto_says = SQSBackend.is_message_valid_based_on_retention_period(backend, name, message)
        assert emulator_sqs.retained(backend, name, message) is moto_says is (age < 60)
    backend.delete_queue(name)


def test_the_clock_is_moto_s_clock():
    from moto.core import utils

    fast, fast_millis = emulator_sqs.now_or(utils.unix_time, 1.0), emulator_sqs.now_or(utils.unix_time_millis, 1000.0)
    assert abs(fast() - utils.unix_time()) < 0.5
    assert abs(fast_millis() - utils.unix_time_millis()) < 500
    moment = utils.utcfromtimestamp(1_700_000_000)
    assert fast(moment) == utils.unix_time(moment) == 1_700_000_000


def test_parse_once_returns_the_same_tree_and_never_remembers_a_failure():
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    calls = []

    def make(text: str):
        calls.append(text)
        return UpdateExpressionParser.make(text)

    cached = parse_once(make)
    assert cached("SET a = :a") is cached("SET a = :a")
    assert calls == ["SET a = :a"]
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - moto's own parse error, whichever class
            cached("SET = :a")
    assert calls.count("SET = :a") == 2


MULTIPART = (
    b"From: =?utf-8?q?L=C3=A9a?= <alerts@leadflow.example>\r\n"
    b"To: Ada <ada@example.com>, bob@example.com\r\n"
    b"Cc: carol@example.com\r\n"
    b"Reply-To: team@leadflow.example\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9_lead?=\r\n"
    b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
    b"X-Leadflow-Ref: d-1\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\nX-Part: inner\r\n\r\nhello\r\n--b--\r\n"
)


def old_common_headers(raw: bytes, message_id: str) -> dict:
    """devstack/ses_outbox.py's _common_headers before it parsed headers only, once per mail."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    common: dict = {}
    for header, key in (("From", "from"), ("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc")):
        values = [str(v) for v in message.get_all(header, [])]
        if values:
            common[key] = [f for value in values for f in ses_outbox._split_addresses(value)]
    if message.get("Date"):
        common["date"] = str(message["Date"])
    common["messageId"] = message_id
    common["subject"] = str(message.get("Subject", ""))
    return common


def test_feedback_headers_are_those_a_full_parse_gives_and_each_caller_gets_its_own():
    mail = SimpleNamespace(raw=MULTIPART, message_id="m-1")
    common = ses_outbox._common_headers(mail)
    assert common == old_common_headers(MULTIPART, "m-1")
    assert list(common) == list(old_common_headers(MULTIPART, "m-1"))
    assert ses_outbox._raw_headers(MULTIPART) == [
        {"name": n, "value": str(v)} for n, v in email.message_from_bytes(MULTIPART).items()
    ]
    common["to"].append("changed")
    ses_outbox._raw_headers(MULTIPART)[0]["value"] = "changed"
    assert ses_outbox._common_headers(mail) == old_common_headers(MULTIPART, "m-1")
    assert ses_outbox._raw_headers(MULTIPART)[0]["value"] != "changed"


def test_a_mail_s_headers_are_parsed_once_for_all_its_events():
    raw = MULTIPART.replace(b"d-1", uuid.uuid4().hex.encode())
    before = ses_outbox._parsed_common_headers.cache_info()
    for _ in range(3):
        ses_outbox._common_headers(SimpleNamespace(raw=raw, message_id="m-2"))
    after = ses_outbox._parsed_common_headers.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 2)


def tree_shape(node, parent=None) -> list:
    """A node tree as nested lists (type, leaves, children), checking every parent link on the way."""
    from moto.dynamodb.parsing.ast_nodes import Node

    assert node.parent is parent
    return [type(node).__name__, {k: v for k, v in vars(node).items() if k not in ("children", "parent")},
            [tree_shape(c, node) if isinstance(c, Node) else c for c in node.children or []]]


def test_the_expression_tree_copy_is_deepcopy_s_tree_and_shares_nothing():
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from devstack.emulator_dynamodb import clone_tree

    text = "SET #a = :a, b.c[2] = list_append(if_not_exists(d, :e), :f) REMOVE g[1] ADD h :one DELETE s :set"
    tree = UpdateExpressionParser.make(text)
    clone = clone_tree(tree)
    assert tree_shape(clone) == tree_shape(copy.deepcopy(tree)) == tree_shape(tree)

    def nodes(node):
        yield node
        for child in node.children or []:
            if hasattr(child, "children"):
                yield from nodes(child)

    originals = {id(n) for n in nodes(tree)}
    assert not originals & {id(n) for n in nodes(clone)}
    lists = [{id(n.children) for n in nodes(root) if n.children is not None} for root in (tree, clone)]
    assert not lists[0] & lists[1]
    assert clone_tree({"x": [1]}) == {"x": [1]}  # anything else: copy.deepcopy


def test_an_update_validated_from_the_copy_changes_the_item_as_moto_s_deepcopy_does():
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from devstack.emulator_dynamodb import clone_tree

    text = "SET #n = :n, hits = if_not_exists(hits, :zero) + :one, tags = list_append(tags, :t) REMOVE gone"
    names = {"#n": "name"}
    values = {":n": {"S": "Ada"}, ":zero": {"N": "0"}, ":one": {"N": "1"}, ":t": {"L": [{"S": "b"}]}}
    table = SimpleNamespace(table_key_attrs=["id"], attr=[{"AttributeName": "id", "AttributeType": "S"}],
                            attribute_keys=["id"])
    results = []
    for copier in (copy.deepcopy, clone_tree):
        item = Item(DynamoType({"S": "k"}), None, {"id": {"S": "k"}, "tags": {"L": [{"S": "a"}]}, "gone": {"S": "x"}})
        original = validators.deepcopy
        validators.deepcopy = copier
        try:
            validated = validators.UpdateExpressionValidator(
                UpdateExpressionParser.make(text), expression_attribute_names=names,
                expression_attribute_values=values, item=item, table=table).validate()
        finally:
            validators.deepcopy = original
        validated.normalize()
        UpdateExpressionExecutor(validated, item, names).execute()
        results.append(item.to_json())
    assert results[0] == results[1]
    assert results[1]["Attributes"]["hits"] == {"N": "1"} and "gone" not in results[1]["Attributes"]


def spy(calls: list, name: str, node):
    calls.append((name, node))
    return node


def test_each_validator_pass_processes_the_nodes_moto_s_would_with_the_same_function():
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import ast_nodes, validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from devstack import emulator_dynamodb

    item = Item(DynamoType({"S": "k"}), None, {"id": {"S": "k"}, "n": {"N": "1"}})
    table = SimpleNamespace(table_key_attrs=["id"], attr=[{"AttributeName": "id", "AttributeType": "S"}],
                            attribute_keys=["id"])
    validator = validators.UpdateExpressionValidator(
        UpdateExpressionParser.make("SET n = n + :one, #m = :m REMOVE gone"), expression_attribute_names={"#m": "m"},
        expression_attribute_values={":one": {"N": "1"}, ":m": {"S": "x"}}, item=item, table=table)
    assert len(validator.processors) >= 8
    original = ast_nodes.DepthFirstTraverser
    for processor in validator.processors:
        assert emulator_dynamodb.nodes_to_be_processed(processor) == original.nodes_to_be_processed(processor)
        assert emulator_dynamodb.nodes_to_be_processed(processor) is emulator_dynamodb.nodes_to_be_processed(processor)
        calls: list = []
        names = [function.__name__ for function in processor._processing_map().values()]
        for name in names:  # spies in place of the processing functions: who gets which node
            setattr(processor, name, functools.partial(spy, calls, name))
        processor.__dict__.pop("_devstack_processing", None)
        for kind in processor._processing_map():
            node = object.__new__(kind)
            assert emulator_dynamodb.process(processor, node) is original.process(processor, node) is node
            assert calls[-2] == calls[-1] and calls[-1][1] is node
        for name in names:
            delattr(processor, name)
    assert emulator_dynamodb.process(validator.processors[0], object()) is None



ATTRIBUTE_VALUES = [
    {"S": "text"}, {"S": ""}, {"S": None}, {"N": "12.50"}, {"N": 3}, {"B": b"\x00\xffbin"}, {"B": "c3Ry"},
    {"SS": ["a", "b"]}, {"NS": ["1", "2.5"]}, {"BS": [b"\x01", b"\x02\x03"]}, {"NULL": True}, {"BOOL": False},
    {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": True}]}}}]},
    {"M": {"a": {"S": "1"}, "b": {"NS": ["3"]}, "c": {"M": {}}, "d": {"L": []}}},
    {"S": "two", "N": "1"}, {"X": "unknown"}, {}, {"M": {"bad": {"Q": 1}}},
]


def moto_json(operation: str, result: dict, service: str = "dynamodb") -> str:
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    context = ActionContext(model, model.operation_model(operation), JSONSerializer, SimpleNamespace())
    return str(ActionResult(result).execute_result(context)[2])


def test_attribute_values_serialise_as_moto_s_own_serializer_writes_them(monkeypatch):
    from moto.core.serialize import BaseJSONSerializer

    from devstack.emulator_dynamodb import plain_attribute_values

    item = {f"a{i}": value for i, value in enumerate(ATTRIBUTE_VALUES)}
    results = [("GetItem", {"Item": item}, "dynamodb"), ("Query", {"Items": [item, item], "Count": 2}, "dynamodb"),
               ("GetRecords", {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": item, "Keys": item}}]},
                "dynamodbstreams")]
    moto_says = [moto_json(*args) for args in results]
    original = BaseJSONSerializer._serialize_type_structure
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", plain_attribute_values(original))
    assert [moto_json(*args) for args in results] == moto_says


def test_attribute_values_skip_moto_s_member_by_member_lookups(monkeypatch):
    """The shortcut's point: an item's attributes no longer go through the alias providers."""
    from moto.core import serialize

    from devstack.emulator_dynamodb import plain_attribute_values

    looked_up = []
    picker = serialize.XFormedAttributePicker.__call__
    monkeypatch.setattr(serialize.XFormedAttributePicker, "__call__",
                        lambda self, context: looked_up.append(context.key) or picker(self, context))
    result = {"Item": {f"a{i}": {"S": str(i)} for i in range(20)}}
    moto_json("GetItem", result)
    assert len(looked_up) >= 20 * 10  # moto: every member of the union, for every attribute
    looked_up.clear()
    monkeypatch.setattr(serialize.BaseJSONSerializer, "_serialize_type_structure",
                        plain_attribute_values(serialize.BaseJSONSerializer._serialize_type_structure))
    moto_json("GetItem", result)
    assert len(looked_up) < 10


UPDATES = [
    ("SET #n = :n, hits = if_not_exists(hits, :zero) + :one, tags = list_append(tags, :t) REMOVE gone",
     {"#n": "name"}, {":n": {"S": "Ada"}, ":zero": {"N": "0"}, ":one": {"N": "1"}, ":t": {"L": [{"S": "b"}]}}),
    ("SET m.#k = :v, n = n - :one ADD s :set DELETE d :del", {"#k": "key"},
     {":v": {"S": "x"}, ":one": {"N": "1"}, ":set": {"SS": ["p"]}, ":del": {"SS": ["q"]}}),
    ("SET tags[0] = :v REMOVE m.#o", {"#o": "other"}, {":v": {"S": "first"}}),
]


def walk_with(traverse, text, names, values):
    """Validate one update with `traverse` as the traverser's walk; what every processor and hook saw, and the tree."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import ast_nodes, validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    item = Item(DynamoType({"S": "k"}), None, {
        "id": {"S": "k"}, "tags": {"L": [{"S": "a"}]}, "gone": {"S": "x"}, "n": {"N": "5"},
        "m": {"M": {"other": {"S": "o"}}}, "s": {"SS": ["r"]}, "d": {"SS": ["q", "z"]}})
    table = SimpleNamespace(table_key_attrs=["id"], attr=[{"AttributeName": "id", "AttributeType": "S"}],
                            attribute_keys=["id"])
    seen: list = []
    original = ast_nodes.DepthFirstTraverser.traverse_node_recursively
    hook = validators.ExpressionAttributeResolvingProcessor.pre_processing_of_child

    def announced(self, parent, child_id):
        seen.append(("child", type(parent).__name__, child_id))
        return hook(self, parent, child_id)

    def processed(process):
        def spied(self, node):
            seen.append((type(self).__name__, type(node).__name__))
            return process(self, node)
        return spied

    ast_nodes.DepthFirstTraverser.traverse_node_recursively = traverse
    validators.ExpressionAttributeResolvingProcessor.pre_processing_of_child = announced
    process = ast_nodes.DepthFirstTraverser.process
    ast_nodes.DepthFirstTraverser.process = processed(process)
    try:
        validated = validators.UpdateExpressionValidator(
            UpdateExpressionParser.make(text), expression_attribute_names=names,
            expression_attribute_values=values, item=item, table=table).validate()
    finally:
        ast_nodes.DepthFirstTraverser.traverse_node_recursively = original
        validators.ExpressionAttributeResolvingProcessor.pre_processing_of_child = hook
        ast_nodes.DepthFirstTraverser.process = process
    return seen, tree_shape(validated)


@pytest.mark.parametrize(("text", "names", "values"), UPDATES)
def test_the_validators_walk_visits_and_replaces_nodes_as_moto_s_walk_does(text, names, values):
    from moto.dynamodb.parsing import ast_nodes

    from devstack.emulator_dynamodb import traverse_node_recursively

    moto_walk = walk_with(ast_nodes.DepthFirstTraverser.traverse_node_recursively, text, names, values)
    fast_walk = walk_with(traverse_node_recursively, text, names, values)
    assert fast_walk == moto_walk
    assert any(step[0] == "child" for step in moto_walk[0])  # the hook was exercised
    assert len(moto_walk[0]) > 20


CHECKED_UPDATES = [
    *UPDATES,
    ("SET a = :v ADD s :set ADD t :set", {}, {":v": {"S": "x"}, ":set": {"SS": ["p"]}}),  # two ADD clauses
    ("SET a = :v SET b = :v REMOVE c REMOVE d", {}, {":v": {"S": "x"}}),  # two SET, two REMOVE
    ("SET a = :v, a = :w", {}, {":v": {"S": "x"}, ":w": {"S": "y"}}),  # the same path twice
    ("SET m.k = :v REMOVE m", {}, {":v": {"S": "x"}}),  # overlapping paths
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "x"}, {":v": {"S": "x"}, ":w": {"S": "y"}}),  # one name twice
]


def validated(text, names, values):
    """moto's UpdateExpressionValidator on an item: the resulting tree, or the error it raised."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    item = Item(DynamoType({"S": "k"}), None, {
        "id": {"S": "k"}, "tags": {"L": [{"S": "a"}]}, "gone": {"S": "x"}, "n": {"N": "5"}, "hits": {"N": "1"},
        "m": {"M": {"other": {"S": "o"}}}, "s": {"SS": ["r"]}, "d": {"SS": ["q", "z"]}})
    table = SimpleNamespace(table_key_attrs=["id"], attr=[{"AttributeName": "id", "AttributeType": "S"}],
                            attribute_keys=["id"])
    try:
        return tree_shape(validators.UpdateExpressionValidator(
            UpdateExpressionParser.make(text), expression_attribute_names=names,
            expression_attribute_values=values, item=item, table=table).validate())
    except Exception as error:  # noqa: BLE001 - compared as moto raised it
        return (type(error).__name__, str(error))


def test_read_only_validator_passes_search_each_subtree_once_and_judge_as_moto_does(monkeypatch):
    from moto.dynamodb.parsing import ast_nodes, validators

    from devstack.emulator_dynamodb import reading_pass, remembered_clauses

    searched = []
    find_clauses = ast_nodes.Node.find_clauses

    def counted(self, clause_types):
        searched.append(self)
        return find_clauses(self, clause_types)

    monkeypatch.setattr(ast_nodes.Node, "find_clauses", counted)
    moto_says = [validated(*update) for update in CHECKED_UPDATES]
    moto_searches = len(searched)
    assert sum(isinstance(outcome, tuple) for outcome in moto_says) == 5  # each bad update refused
    searched.clear()
    monkeypatch.setattr(ast_nodes.Node, "find_clauses", remembered_clauses(counted))
    for name in ("ActionCountValidator", "OverlappingPathsValidator"):
        validator = getattr(validators, name)
        monkeypatch.setattr(validator, "traverse", reading_pass(validator.traverse))
    assert [validated(*update) for update in CHECKED_UPDATES] == moto_says
    assert len(searched) * 3 < moto_searches
    assert ast_nodes.Node.find_clauses(ast_nodes.UpdateExpression([]), [ast_nodes.UpdateExpressionAddClause]) == []


def test_expression_only_checks_run_once_per_parsed_expression_names_and_key(monkeypatch):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from devstack import emulator_dynamodb

    cls = validators.UpdateExpressionValidator
    monkeypatch.setattr(cls, "__init__", emulator_dynamodb.remember_source(cls.__init__))
    monkeypatch.setattr(cls, "validate", emulator_dynamodb.checked_once)
    counted = []
    count_traverse = validators.ActionCountValidator.traverse
    monkeypatch.setattr(validators.ActionCountValidator, "traverse",
                        lambda self, node: counted.append(node) or count_traverse(self, node))

    def run(tree, names, keys=("id",)):
        item = Item(DynamoType({"S": "k"}), None, {"id": {"S": "k"}})
        table = SimpleNamespace(table_key_attrs=list(keys), attr=[], attribute_keys=list(keys))
        values = {":v": {"S": "x"}, ":w": {"S": "y"}}
        try:
            return tree_shape(cls(tree, expression_attribute_names=names, expression_attribute_values=values,
                                  item=item, table=table).validate())
        except Exception as error:  # noqa: BLE001 - compared as moto raised it
            return (type(error).__name__, str(error))

    shared = UpdateExpressionParser.make("SET #a = :v, #b = :w")
    first = run(shared, {"#a": "x", "#b": "y"})
    assert run(shared, {"#a": "x", "#b": "y"}) == first and len(counted) == 1  # checked once, same tree
    duplicate = run(shared, {"#a": "x", "#b": "x"})  # other names: checked again, and refused
    assert duplicate[0] == "DuplicateUpdateExpression" and len(counted) == 2
    assert run(shared, {"#a": "x", "#b": "x"}) == duplicate and len(counted) == 3  # refused every time
    key_update = run(shared, {"#a": "id", "#b": "y"})  # the table's key: refused on this table
    assert key_update[0] == "UpdateHashRangeKeyException"
    assert run(shared, {"#a": "id", "#b": "y"}, keys=("pk",)) == run(shared, {"#a": "id", "#b": "y"}, keys=("pk",))
    two_adds = UpdateExpressionParser.make("ADD s :v ADD t :w")
    assert run(two_adds, {})[0] == "TooManyClauses" and run(two_adds, {})[0] == "TooManyClauses"


def test_a_handler_s_methods_are_listed_as_moto_lists_them_and_a_method_added_later_is_seen():
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler

    from devstack.emulator import listed_once

    calls = []
    listed = listed_once(lambda clazz: calls.append(clazz) or method_names_from_class(clazz))
    assert listed(DynamoHandler) == method_names_from_class(DynamoHandler) == listed(DynamoHandler)
    assert "update_item" in listed(DynamoHandler) and len(calls) == 1

    class Handler(DynamoHandler):
        pass

    assert "brand_new_action" not in listed(Handler)
    Handler.brand_new_action = lambda self: None
    assert "brand_new_action" in listed(Handler) and len(calls) == 3
    listed(Handler).clear()  # each caller gets its own list
    assert "brand_new_action" in listed(Handler)


CONDITIONS = [
    ("attribute_not_exists(id)", None, None),
    ("#s = :s AND (attempts < :max OR attribute_not_exists(claim_token))", {"#s": "status"},
     {":s": {"S": "queued"}, ":max": {"N": "3"}}),
    ("NOT contains(tags, :t) AND size(#n) > :zero", {"#n": "full_name"}, {":t": {"S": "x"}, ":zero": {"N": "0"}}),
    ("claim_token = :token OR begins_with(id, :p)", None, {":token": {"S": "abc"}, ":p": {"S": "k"}}),
]


def judge(op, item):
    try:
        return op.expr(item)
    except ValueError as error:  # moto's answer for size() of a missing attribute
        return str(error)


def test_condition_tokens_are_lexed_once_per_text_and_parse_as_moto_s(monkeypatch):
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from devstack import emulator_dynamodb

    items = [None, Item(DynamoType({"S": "k1"}), None, {"id": {"S": "k1"}, "status": {"S": "queued"},
                                                        "attempts": {"N": "1"}, "full_name": {"S": "Ada"},
                                                        "tags": {"SS": ["y"]}, "claim_token": {"S": "abc"}})]

    def judged():
        outcomes = []
        for text, names, values in CONDITIONS * 2:
            parser = ConditionExpressionParser(text, names, values)
            op = parser.parse()
            outcomes.append(([judge(op, item) for item in items], parser.expr_attr_names_found,
                             parser.expr_attr_values_found))
        return outcomes

    moto_says = judged()
    lexed = []
    lex = ConditionExpressionParser._lex_condition_expression
    monkeypatch.setattr(emulator_dynamodb, "_lexed", {})
    monkeypatch.setattr(ConditionExpressionParser, "_lex_condition_expression",
                        emulator_dynamodb.lexed_once(lambda self: lexed.append(self.condition_expression) or lex(self)))
    assert judged() == moto_says
    assert sorted(lexed) == sorted(text for text, _, _ in CONDITIONS)  # once each, though parsed twice
    for _ in range(2):
        with pytest.raises(ValueError):
            ConditionExpressionParser("id = :v ;", None, {":v": {"S": "x"}}).parse()
    assert lexed.count("id = :v ;") == 2


def test_a_query_finds_and_orders_what_moto_s_sorted_scan_does(monkeypatch):
    import random

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models import table as table_module

    from devstack import emulator_dynamodb

    backend = dynamodb_backends["123456789012"]["eu-west-3"]
    name = f"order-{uuid.uuid4().hex[:8]}"
    backend.create_table(
        name, schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        attr=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "status", "at")],
        throughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        global_indexes=[{"IndexName": "by-status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                                                {"AttributeName": "at", "KeyType": "RANGE"}],
                         "Projection": {"ProjectionType": "ALL"}}],
        indexes=[], streams=None, billing_mode="PAY_PER_REQUEST", sse_specification=None, tags=[],
        deletion_protection_enabled=False, warm_throughput=None)
    rows = [(f"p{i % 7}", f"s{i}", random.choice(["queued", "sent"]), f"2026-01-0{i % 3}") for i in range(60)]
    random.Random(7).shuffle(rows)
    for pk, sk, status, at in rows:
        backend.put_item(name, {"pk": {"S": pk}, "sk": {"S": sk}, "status": {"S": status}, "at": {"S": at}})
    table = backend.get_table(name)

    def answers():
        found = []
        asked = ((None, "pk", "p3"), ("by-status", "status", "queued"), ("by-status", "status", "sent"))
        for index, key, value in asked:
            for forward in (True, False):
                results, _, _ = table.query(
                    table_module.DynamoType({"S": value}), None, [], None, None, forward, None, index_name=index,
                    hash_key_conditions=[(key, table_module.DynamoType({"S": value}))], range_key_conditions=[])
                found.append([item.to_json() for item in results])
        return found, [item.to_json() for item in table.all_items()]

    moto_says = answers()
    unsorted = emulator_dynamodb.unsorted_in_query(table_module.Table.all_items)
    monkeypatch.setattr(table_module.Table, "all_items", unsorted)
    monkeypatch.setattr(table_module.Table, "query", emulator_dynamodb.shallow_results(table_module.Table.query))
    monkeypatch.setattr(table_module, "copy", emulator_dynamodb._CopyUnless(copy, emulator_dynamodb.query_results))
    assert answers() == moto_says
    assert any(len(answer) > 10 for answer in moto_says[0])
    backend.delete_table(name)


def dynamodb_request(client, target: str, body, service: str = "dynamodb", headers: dict | None = None):
    scope = f"testing/20260101/eu-west-3/{service}/aws4_request"
    signed = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=x"
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/", data=data, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0",
                                                "Authorization": signed, **(headers or {})})


def answer(response) -> tuple:
    """What a client sees, less the request id moto draws at random."""
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() != "x-amzn-requestid")
    return response.status, headers, response.data


def test_dynamodb_requests_answer_as_through_moto_s_flask_apps_and_are_recorded_alike(tmp_path, monkeypatch):
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    from devstack.emulator import direct_json_targets

    moto_app = DomainDispatcherApplication(create_backend_app)
    routed = []
    direct = direct_json_targets(lambda environ, start: routed.append(environ) or moto_app(environ, start))
    table = f"direct-{uuid.uuid4().hex[:8]}"
    created = dynamodb_request(Client(moto_app), "DynamoDB_20120810.CreateTable", {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    assert created.status_code == 200
    stream = json.loads(created.data)["TableDescription"]["LatestStreamArn"]
    queue = f"direct-{uuid.uuid4().hex[:8]}"
    queued = dynamodb_request(Client(moto_app), "AmazonSQS.CreateQueue", {"QueueName": queue}, "sqs")
    queue_url = json.loads(queued.data)["QueueUrl"]
    requests = [
        ("DynamoDB_20120810.PutItem", {"TableName": table, "Item": {"id": {"S": "a"}, "n": {"N": "1"},
                                                                    "b": {"B": "AAE="}, "tags": {"SS": ["x"]}}}),
        ("DynamoDB_20120810.GetItem", {"TableName": table, "Key": {"id": {"S": "a"}}}),
        ("DynamoDB_20120810.UpdateItem", {"TableName": table, "Key": {"id": {"S": "a"}}, "ReturnValues": "ALL_NEW",
                                          "UpdateExpression": "SET m = :m", "ExpressionAttributeValues": {
                                              ":m": {"M": {"k": {"L": [{"NULL": True}]}}}}}),
        ("DynamoDB_20120810.PutItem", {"TableName": table, "Item": {"id": {"S": "a"}},
                                       "ConditionExpression": "attribute_not_exists(id)"}),
        ("DynamoDB_20120810.GetItem", {"TableName": "no-such-table", "Key": {"id": {"S": "a"}}}),
        ("DynamoDB_20120810.NoSuchOperation", {}),
        ("DynamoDB_20120810.GetItem", b"{not json"),
        ("DynamoDBStreams_20120810.DescribeStream", {"StreamArn": stream}),
        ("DynamoDBStreams_20120810.ListStreams", {"TableName": table}),
        ("AmazonSQS.GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["VisibilityTimeout"]}),
        ("AmazonSQS.ReceiveMessage", {"QueueUrl": queue_url, "WaitTimeSeconds": 0}),
        ("AmazonSQS.GetQueueUrl", {"QueueName": "no-such-queue"}),
    ]
    monkeypatch.setattr(recorder, "_user_enabled", True)
    answers: dict[str, list] = {"flask": [], "direct": []}
    for target, body in requests:  # each request both ways in turn, so both see the same table
        for name, app in (("flask", moto_app), ("direct", direct)):
            recorder._location = str(tmp_path / name)
            try:
                service = "sqs" if target.startswith("AmazonSQS") else "dynamodb"
                answers[name].append(answer(dynamodb_request(Client(app), target, body, service)))
            except Exception as error:  # noqa: BLE001 - moto raises out of its app (the server's 500)
                answers[name].append(type(error).__name__)
    assert answers["direct"] == answers["flask"]
    assert [a[0] for a in answers["flask"]][:4] == ["200 OK", "200 OK", "200 OK", "400 BAD REQUEST"]
    assert not routed  # none of them went through moto's dispatcher
    assert (tmp_path / "direct").read_text() == (tmp_path / "flask").read_text() != ""
    for other in (dict(headers={"Origin": "http://localhost"}), dict(service="sqs"),
                  dict(headers={"Authorization": "AWS testing:x"})):
        with contextlib.suppress(Exception):  # whatever moto makes of them
            dynamodb_request(Client(direct), "DynamoDB_20120810.ListTables", {}, **other)
    for target, service in (("AmazonSQS.ListQueues", "sns"), ("AmazonSNS.ListTopics", "sns")):
        with contextlib.suppress(Exception):
            dynamodb_request(Client(direct), target, {}, service=service)
    assert len(routed) == 5  # a browser's request, other signing scopes and other services take moto's way
    assert answers["flask"][-1][0].startswith("400") and answers["flask"][-3][0] == "200 OK"


def test_random_strings_keep_moto_s_pool_length_case_and_seed():
    import string

    from moto.moto_api._internal.moto_random import MotoRandom

    from devstack.emulator import random_string, receipt_handle

    seeded = [MotoRandom(42), MotoRandom(42)]
    assert random_string(seeded[0], 52) == random_string(seeded[1], 52)  # a seeded moto stays deterministic
    drawn = [random_string(MotoRandom(), 52) for _ in range(200)]
    assert {len(text) for text in drawn} == {52}
    assert set("".join(drawn)) == set(string.ascii_letters + string.digits)
    letters = "".join(random_string(MotoRandom(), 40, include_digits=False) for _ in range(100))
    assert set(letters) == set(string.ascii_letters)
    lower = "".join(random_string(MotoRandom(), 40, lower_case=True) for _ in range(100))
    assert set(lower) == set(string.ascii_lowercase + string.digits)
    handles = [receipt_handle() for _ in range(50)]
    assert {len(h) for h in handles} == {185} and set("".join(handles)) == set(string.ascii_lowercase)
    assert len(set(handles)) == 50


EIGHT_BIT = (
    b"From: L\xc3\xa9a <alerts@leadflow.example>\r\n"
    b"To: =?utf-8?q?Ada?= <ada@example.com>,\r\n bob@example.com\r\n"
    b"Reply-To: \"broken\r\n name\" <x@example.com>\r\n"
    b"Subject: caf\xe9 \xff\r\n"
    b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n\r\nbody\r\n"
)


def two_parse_headers(raw: bytes) -> tuple[dict, list]:
    """commonHeaders and headers as devstack/ses_outbox.py read them with a parse per policy."""
    decoded = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
    compat = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    common: dict = {}
    for header, key in (("From", "from"), ("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc")):
        values = ses_outbox._header_values(decoded, compat, header)
        if values:
            common[key] = [f for v in values for f in ses_outbox._split_addresses(v)]
    date = ses_outbox._header_values(decoded, compat, "Date")
    if date:
        common["date"] = date[0]
    subject = ses_outbox._header_values(decoded, compat, "Subject")
    common["subject"] = subject[0] if subject else ""
    return common, [{"name": n, "value": str(v)} for n, v in compat.items()]


@pytest.mark.parametrize("raw", [MULTIPART, EIGHT_BIT])
def test_one_parse_gives_the_headers_a_parse_per_policy_gave(raw):
    raw = raw.replace(b"bob@", f"bob.{uuid.uuid4().hex[:6]}@".encode())  # not cached yet
    before = ses_outbox._parsed_headers.cache_info()
    common = ses_outbox._common_headers(SimpleNamespace(raw=raw, message_id="m-3"))
    headers = ses_outbox._raw_headers(raw)
    after = ses_outbox._parsed_headers.cache_info()
    expected_common, expected_headers = two_parse_headers(raw)
    assert common == {**expected_common, "messageId": "m-3", "subject": expected_common["subject"]}
    assert headers == expected_headers
    assert after.misses - before.misses == 1  # both from the one parse


def streamed_table(backend, view: str | None) -> str:
    name = f"copy-{uuid.uuid4().hex[:8]}"
    streams = {"StreamEnabled": True, "StreamViewType": view} if view else None
    backend.create_table(
        name, schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attr=[{"AttributeName": "id", "AttributeType": "S"}], throughput=None, global_indexes=[], indexes=[],
        streams=streams, billing_mode="PAY_PER_REQUEST", sse_specification=None, tags=[],
        deletion_protection_enabled=False, warm_throughput=None)
    return name


def update_twice(backend, name: str) -> tuple:
    """An update that creates the item and one that changes it: what is returned, stored and streamed."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    returned = []
    for value in ("1", "2"):
        expression = "SET n = :n, tags = list_append(if_not_exists(tags, :e), :t)"
        item = backend.update_item(name, {"id": {"S": "k"}}, expression, None,
                                   {":n": {"N": value}, ":e": {"L": []}, ":t": {"L": [{"S": value}]}})
        returned.append(item.to_json())
    table = backend.get_table(name)
    records = []
    for record in (table.stream_shard.items if table.stream_shard else []):
        # Less the time, and the size, which counts the time's digits.
        timeless = record.record["dynamodb"].items()
        dynamodb = {k: v for k, v in timeless if k not in ("ApproximateCreationDateTime", "SizeBytes")}
        records.append((record.record["eventName"], dynamodb))
    return returned, table.get_item(DynamoType({"S": "k"}), None).to_json(), records


@pytest.mark.parametrize("view", [None, "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_an_update_copies_the_item_only_when_its_stream_shows_the_old_image(monkeypatch, view):
    from moto.dynamodb import models as models_module
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item

    from devstack import emulator_dynamodb

    backend = dynamodb_backends["123456789012"]["eu-west-3"]
    moto_says = update_twice(backend, streamed_table(backend, view))
    copied = []
    real_copy = models_module.copy

    class Counting:
        def deepcopy(self, value, *args):
            copied.extend([value] if isinstance(value, Item) else [])
            return real_copy.deepcopy(value, *args)

        def __getattr__(self, name):
            return getattr(real_copy, name)

    monkeypatch.setattr(models_module, "copy", emulator_dynamodb._CopyUnless(Counting(), emulator_dynamodb.shared_item))
    monkeypatch.setattr(DynamoDBBackend, "update_item", emulator_dynamodb.old_item_only_for_streams(
        DynamoDBBackend.update_item))
    assert update_twice(backend, streamed_table(backend, view)) == moto_says
    assert len(copied) == (1 if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else 0)  # the second update's item
    assert emulator_dynamodb._in_update.share is False
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        assert moto_says[2][-1][1]["OldImage"]["n"] == {"N": "1"}  # the MODIFY: as it was


RAW_MAILS = [
    MULTIPART.decode(),
    "From: a@leadflow.example\r\nBcc: Secret <s@example.com>\r\nSubject: x\r\n\r\nbody\r\n",
    "To: t@example.com\r\nSubject: no sender\r\n\r\nbody\r\n",
    "From: a@leadflow.example\r\nTo: not an address\r\n\r\nbody\r\n",
]


def sent(backend, raw: str):
    try:
        message = backend.send_raw_email(source=None, destinations=[], raw_data=raw)
        return message.source, message.destinations
    except Exception as error:  # noqa: BLE001 - compared as moto raised it
        return type(error).__name__, str(error)


def test_moto_s_ses_reads_a_raw_mail_s_headers_alone_and_decides_as_before(monkeypatch):
    from moto.ses import models
    from moto.ses.models import ses_backends

    backend = ses_backends["123456789012"]["eu-west-3"]
    backend.verify_email_identity("a@leadflow.example")
    moto_says = [sent(backend, raw) for raw in RAW_MAILS]
    assert moto_says[0][1] and moto_says[2][0] == "MessageRejectedError"
    monkeypatch.setattr(models, "email", ses_outbox._HeadersOnlyEmail())
    assert [sent(backend, raw) for raw in RAW_MAILS] == moto_says
    parsed = models.email.message_from_string(RAW_MAILS[0])
    assert parsed.items() == email.message_from_string(RAW_MAILS[0]).items()
    assert isinstance(parsed.get_payload(), str)  # the MIME parts were never parsed
    assert models.email.utils is email.utils


def test_every_botocore_session_shares_one_loader_and_sees_the_same_data(monkeypatch):
    import boto3
    import botocore.loaders
    import botocore.session

    from devstack.emulator import share_botocore_data

    regions = boto3.Session().get_available_regions("ec2")
    first = botocore.session.Session().get_component("data_loader")
    assert botocore.session.Session().get_component("data_loader") is not first  # botocore's own way
    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)
    share_botocore_data()
    share_botocore_data()  # once is enough: a second call keeps the same loader
    shared = botocore.session.Session().get_component("data_loader")
    assert botocore.session.Session().get_component("data_loader") is shared
    assert boto3.Session().get_available_regions("ec2") == regions and "eu-west-3" in regions
