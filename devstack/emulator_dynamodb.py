"""A faster TransactWriteItems and index Query for the emulator, with DynamoDB's own semantics.

moto deep-copies every table a transaction names so it can roll back, which
makes each transaction cost O(table size): at a few hundred leads a
one-item claim took ~50 ms and dominated the local pipeline. DynamoDB
evaluates every condition of a transaction before it writes anything, and
writes all or nothing; doing the same here (check every item first, then
write) needs no copy at all.

Query: moto sorts the candidates of a query by comparing its DynamoType
objects (a cast per comparison) and deep-copies every result before
answering, so one query of an index partition costs O(partition size) in
Python objects: a COUNT of 2,000 deliveries by status took over a second,
and the dashboard's health view makes dozens. Here the sort key is built
once per item from the plain values (DynamoDB's order: numbers by value,
strings and binaries by their bytes), an item's size is computed once per
query, and a query's results are copied shallowly: every index of our
tables projects ALL attributes, and nothing downstream mutates a result.
"""

from __future__ import annotations

import base64
import copy
import functools
import threading
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

WRITE_OPS = {"Put", "Update", "Delete"}
ALL_OPS = WRITE_OPS | {"ConditionCheck"}
# The backend methods that check a condition and then write.
ATOMIC_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_write_lock = threading.RLock()  # re-entrant: a transaction calls put_item/update_item


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _check(backend: Any, op: dict[str, Any], key: dict[str, Any]) -> tuple[str, str, Any] | tuple[None, None, None]:
    from moto.dynamodb.comparisons import get_filter_expression as filter_expression
    from moto.dynamodb.exceptions import ConditionalCheckFailed

    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)

    current = backend.get_item(op["TableName"], key)
    check = filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
    if check.expr(current):
        return (None, None, None)
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", str(ConditionalCheckFailed().message), old)


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[Any] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in ALL_OPS:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(self, op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        try:
            errors.append(_check(self, op, key))
        except Exception as error:  # noqa: BLE001 - reported per item, as moto does
            errors.append((type(error).__name__, str(error), None))
        planned.append((op_type, op, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in planned:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
        elif op_type == "Update":
            self.update_item(
                op["TableName"], key, update_expression=op["UpdateExpression"],
                expression_attribute_names=names, expression_attribute_values=values,
            )


_in_query = threading.local()


class _CopyUnless:
    """`copy` as one of moto's modules sees it: its `deepcopy` gives `shortcut(value)` instead
    of a deep copy wherever that is not None (table module: a query's results, shallow;
    backend module: an item whose old image nobody reads, itself)."""

    def __init__(self, real: Any, shortcut: Callable[[Any], Any]) -> None:
        self._real = real
        self.shortcut = shortcut

    def deepcopy(self, value: Any, *args: Any) -> Any:
        kept = self.shortcut(value)
        return self._real.deepcopy(value, *args) if kept is None else kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def query_results(value: Any) -> Any:
    """A query's result list, copied shallow (its items are copied when they are read)."""
    return list(value) if getattr(_in_query, "active", False) and isinstance(value, list) else None


def _sort_value(value: Any) -> tuple[str, Any]:
    if value is None:
        return ("", "")
    if value.type == "N":
        return (value.type, Decimal(value.value))
    return (value.type, value.value)


def sorted_items(
    self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]
) -> list[Any]:
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda item: tuple(_sort_value(item.attrs.get(name)) for name in attrs))
    return items


def shallow_results(query: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(query)
    def run(*args: Any, **kwargs: Any) -> Any:
        _in_query.active, _in_query.sizes = True, {}
        try:
            return query(*args, **kwargs)
        finally:
            _in_query.active, _in_query.sizes = False, {}

    return run


def sized_once(size: Callable[[Any], int]) -> Callable[[Any], int]:
    """Item.size, computed once per item during a query (moto asks twice per result)."""

    @functools.wraps(size)
    def cached(self: Any) -> int:
        if not getattr(_in_query, "active", False):
            return size(self)
        sizes = _in_query.sizes
        if id(self) not in sizes:
            sizes[id(self)] = size(self)
        return int(sizes[id(self)])

    return cached


def atomic(write: Callable[..., Any]) -> Callable[..., Any]:
    """`write`, with its condition check and its write done under the one lock."""

    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return write(*args, **kwargs)

    return locked


def atomic_writes(backend_class: Any) -> dict[str, Callable[..., Any]]:
    """DynamoDB's write semantics for moto's DynamoDBBackend, by method name: this module's
    TransactWriteItems (every condition checked, then every write; moto's own restores a deep
    copy of each table it names when a condition fails, undoing what other threads wrote
    meanwhile), and each write under the one lock. The emulator installs them; the unit tier's
    in-process moto patches them in, since the worker sends a message's emails side by side."""
    methods = {name: getattr(backend_class, name) for name in ATOMIC_WRITES}
    methods["transact_write_items"] = transact_write_items
    return {name: atomic(method) for name, method in methods.items()}


# Distinct update expressions the parse cache keeps (the app has a few dozen).
PARSED_EXPRESSIONS = 512


def parse_once(make: Callable[[str], Any]) -> Callable[[str], Any]:
    """moto's UpdateExpressionParser.make (moto/dynamodb/parsing/expressions.py), remembered per
    expression text: moto parses every UpdateExpression twice per request (responses.py to list
    the names and values it uses, models/__init__.py update_item to run it), and the app sends
    the same few expressions over and over. Sharing the tree is safe: the request handler only
    reads it (find_clauses) and UpdateExpressionValidator deep-copies it before changing anything.
    A text that fails to parse raises each time (exceptions are not cached)."""
    return functools.lru_cache(maxsize=PARSED_EXPRESSIONS)(make)


_IMMUTABLE = (str, int, float, bool, type(None), Decimal)


def clone_tree(value: Any) -> Any:
    """copy.deepcopy for the expression trees moto's UpdateExpressionValidator copies before it
    resolves them (moto/dynamodb/parsing/validators.py, Validator.__init__): the same tree of
    new nodes, parent links pointing into the copy, at a fraction of deepcopy's cost (its memo
    and reduce protocol were a seventh of the DynamoDB process's time in a burst). Anything
    that is not a node, a list or an immutable value is handed to copy.deepcopy."""
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    def copied(item: Any, parent: Any) -> Any:
        if isinstance(item, _IMMUTABLE):
            return item
        if isinstance(item, list):
            return [copied(element, parent) for element in item]
        if not isinstance(item, Node):
            return copy.deepcopy(item)
        node = object.__new__(type(item))
        for name, attribute in item.__dict__.items():
            node.__dict__[name] = parent if name == "parent" else copied(attribute, node)
        return node

    if isinstance(value, Node):
        return copied(value, value.__dict__.get("parent"))
    return copy.deepcopy(value)


def _processing(self: Any) -> tuple[tuple[tuple[type, Callable[[Any], Any]], ...], tuple[type, ...]]:
    found: Any = self.__dict__.get("_devstack_processing")
    if found is None:
        pairs = tuple(self._processing_map().items())
        found = self.__dict__["_devstack_processing"] = (pairs, tuple(cls for cls, _ in pairs))
    return found  # type: ignore[no-any-return]


def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
    """DepthFirstTraverser.nodes_to_be_processed (moto/dynamodb/parsing/ast_nodes.py), which its
    docstring calls cached but which builds the processor's map again for every node it
    visits, twice (here and in process): built once per processor instead. Every validator
    pass over every update expression goes through these two."""
    return _processing(self)[1]


def process(self: Any, node: Any) -> Any:
    """DepthFirstTraverser.process, from the map built once (see nodes_to_be_processed)."""
    for class_key, processor in _processing(self)[0]:
        if isinstance(node, class_key):
            return processor(node)
    return None


_node_types: dict[type, bool] = {}
_wanted_by_processing: dict[tuple[type, ...], dict[type, bool]] = {}


def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
    """DepthFirstTraverser.traverse_node_recursively (moto/dynamodb/parsing/ast_nodes.py): the same
    walk (children first, each child announced to pre_processing_of_child, processed nodes put
    back in their parent's place), minus its per-node costs: an ABC isinstance for "is it a
    Node" and another for "is it one to process" at every node, and a call for every leaf
    value. Both answers depend only on the node's class and are remembered per class. Ten
    processors walk every update expression this way; it was a fifth of the DynamoDB process."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]

    wanted_types = _processing(self)[1]
    wanted = _wanted_by_processing.setdefault(wanted_types, {})
    announce = None
    if type(self).pre_processing_of_child is not DepthFirstTraverser.pre_processing_of_child:
        announce = self.pre_processing_of_child

    def is_node(value: Any) -> bool:
        kind = type(value)
        known = _node_types.get(kind)
        if known is None:
            known = _node_types[kind] = isinstance(value, Node)
        return known

    def walk(current: Any, index: int) -> Any:
        kind = type(current)
        parent = current.parent
        children = current.children
        if children is not None:
            for position, child in enumerate(children):
                if announce is not None:
                    announce(current, position)
                if is_node(child):  # moto's walk returns anything else untouched
                    walk(child, position)
        to_process = wanted.get(kind)
        if to_process is None:
            to_process = wanted[kind] = isinstance(current, wanted_types)
        if to_process:
            current = self.process(current)
            current.parent = parent
            if parent:
                parent.children[index] = current
        return current

    return walk(node, child_id) if is_node(node) else node


_clauses = threading.local()


def remembered_clauses(find_clauses: Callable[[Any, Any], list[Any]]) -> Callable[[Any, Any], list[Any]]:
    """Node.find_clauses (moto/dynamodb/parsing/ast_nodes.py), answered once per node and clause
    types while a read-only validator pass runs (see reading_pass). ActionCountValidator and
    OverlappingPathsValidator process every UpdateExpression node, and every clause, action,
    path and value is one (UpdateExpressionClause subclasses it): each searched its whole
    subtree again, three times for the action count, so a validation cost O(nodes^2)."""

    @functools.wraps(find_clauses)
    def find(self: Any, clause_types: Any) -> list[Any]:
        found: dict[tuple[int, tuple[type, ...]], tuple[Any, list[Any]]] | None = getattr(_clauses, "found", None)
        if found is None:
            return find_clauses(self, clause_types)
        key = (id(self), tuple(clause_types))
        hit = found.get(key)
        if hit is None or hit[0] is not self:
            hit = found[key] = (self, find_clauses(self, clause_types))
        return list(hit[1])  # the caller's own list, as moto's is

    find._devstack = True  # type: ignore[attr-defined]
    return find


def reading_pass(traverse: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A validator's traverse, with find_clauses remembered for its duration: these validators
    only read the tree (each processor returns the node it was given), so no answer changes
    while they run; the memo ends with the pass."""

    @functools.wraps(traverse)
    def run(self: Any, node: Any) -> Any:
        _clauses.found = {}
        try:
            return traverse(self, node)
        finally:
            _clauses.found = None

    run._devstack = True  # type: ignore[attr-defined]
    return run


# The checks of an update expression that depend on nothing but its text, its names and the
# table's key: ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator.
EXPRESSION_ONLY_CHECKS = frozenset({"ActionCountValidator", "OverlappingPathsValidator", "UpdateHashRangeKeyValidator"})
CHECKED_EXPRESSIONS = 1024
# (parsed tree's id, names, key attributes) -> that tree, for expressions that passed those checks.
_passed: dict[tuple[Any, ...], Any] = {}
_passed_lock = threading.Lock()


def _passed_key(validator: Any) -> tuple[Any, ...] | None:
    source = validator.__dict__.get("_devstack_source")
    if source is None:
        return None
    names = tuple(sorted((validator.expression_attribute_names or {}).items()))
    return (type(validator), id(source), names, tuple(validator.table.table_key_attrs))


def remember_source(init: Callable[..., None]) -> Callable[..., None]:
    """UpdateExpressionValidator.__init__, noting the parsed tree it was given (before its copy)."""

    @functools.wraps(init)
    def noted(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        init(self, expression, *args, **kwargs)
        self.__dict__["_devstack_source"] = expression

    noted._devstack = True  # type: ignore[attr-defined]
    return noted


def checked_once(self: Any) -> Any:
    """Validator.validate (moto/dynamodb/parsing/validators.py) for update expressions, with the
    expression-only checks skipped when this parsed expression already passed them with the
    same names on the same key. They only read the tree (each returns the node it was given)
    and raise on a bad expression; the app sends a few dozen expressions, each thousands of
    times, and these three were a third of every update's validation. A parsed tree is shared
    per text (parse_once), and held here so its id is never another tree's. A failure is not
    remembered: a bad expression is refused every time."""
    key = _passed_key(self)
    source = self.__dict__.get("_devstack_source")
    with _passed_lock:
        passed = key is not None and _passed.get(key) is source
    node = self.node_to_validate
    for processor in self.processors:
        if passed and type(processor).__name__ in EXPRESSION_ONLY_CHECKS:
            continue
        node = processor.traverse(node)
    if key is not None and not passed:
        with _passed_lock:
            if len(_passed) >= CHECKED_EXPRESSIONS:
                _passed.clear()
            _passed[key] = source
    return node


LEXED_CONDITIONS = 512
_lexed: dict[str, tuple[Any, ...]] = {}


def lexed_once(lex: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """ConditionExpressionParser._lex_condition_expression (moto/dynamodb/comparisons.py), remembered
    per condition text: the tokens depend on the text alone (names and values are resolved by
    the later stages), and moto lexes with a dozen regular expressions per token on every
    conditional write and every filtered query. Each call gets its own deque of tokens with
    their own child lists (the parser consumes the deque). A text that does not lex raises
    every time."""

    @functools.wraps(lex)
    def tokens(self: Any) -> Any:
        text = self.condition_expression
        found = _lexed.get(text) if isinstance(text, str) else None
        if found is None:
            lexed = lex(self)
            if not isinstance(text, str):
                return lexed
            found = tuple(lexed)
            if len(_lexed) >= LEXED_CONDITIONS:
                _lexed.clear()
            _lexed[text] = found
        return deque(node._replace(children=list(node.children)) for node in found)

    tokens._devstack = True  # type: ignore[attr-defined]
    return tokens


def unsorted_in_query(all_items: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    """Table.all_items (moto/dynamodb/models/table.py), unsorted while a query runs: it sorts the
    whole table by key (DynamoType comparisons) every time, and Table.query, which scans it
    for candidates, then sorts those by the index's and the table's keys, an order no two
    items share, so the first sort changes nothing but costs O(table log table) per query.
    Scans and everything else still get moto's sorted list."""

    @functools.wraps(all_items)
    def items(self: Any) -> list[Any]:
        if not getattr(_in_query, "active", False):
            return all_items(self)
        found: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                found.extend(hash_set.values())
            else:
                found.append(hash_set)
        return found

    items._devstack = True  # type: ignore[attr-defined]
    return items


# Stream view types whose records show the item as it was before the write.
OLD_IMAGE_VIEWS = frozenset({"OLD_IMAGE", "NEW_AND_OLD_IMAGES"})
_in_update = threading.local()


def shared_item(value: Any) -> Any:
    """The item itself, not a copy, while an update runs whose old image nobody will read
    (see old_item_only_for_streams)."""
    from moto.dynamodb.models.dynamo_type import Item

    return value if getattr(_in_update, "share", False) and isinstance(value, Item) else None


def old_item_only_for_streams(update_item: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoDBBackend.update_item (moto/dynamodb/models/__init__.py) deep-copies the item before
    every update (`orig_item`), and uses the copy for one thing: the stream record's old image.
    A table without a stream, or whose stream shows no old image (KEYS_ONLY, NEW_IMAGE: the
    record takes only the key, which an update cannot change, and whether there was an item),
    gets no copy; the rest are copied as before."""

    @functools.wraps(update_item)
    def update(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.get_table(table_name)
        view = (table.stream_specification or {}).get("StreamViewType")
        _in_update.share = table.stream_shard is None or view not in OLD_IMAGE_VIEWS
        try:
            return update_item(self, table_name, *args, **kwargs)
        finally:
            _in_update.share = False

    update._devstack = True  # type: ignore[attr-defined]
    return update


def install() -> None:
    from moto.dynamodb import models as models_module
    from moto.dynamodb import responses as responses_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import Item

    # Both modules call it through the class they imported: the class attribute covers both.
    parser: Any = responses_module.UpdateExpressionParser  # type: ignore[attr-defined]
    assert models_module.UpdateExpressionParser is parser  # type: ignore[attr-defined]
    if not hasattr(parser.make, "cache_info"):
        parser.make = staticmethod(parse_once(parser.make))
    from moto.dynamodb.parsing import validators

    setattr(validators, "deepcopy", clone_tree)  # noqa: B010 - the module's `from copy import deepcopy`
    traverser: Any = validators.DepthFirstTraverser  # type: ignore[attr-defined]
    traverser.nodes_to_be_processed = nodes_to_be_processed
    traverser.process = process
    traverser.traverse_node_recursively = traverse_node_recursively
    from moto.dynamodb.parsing import ast_nodes

    node_class: Any = ast_nodes.Node  # type: ignore[attr-defined]
    if not getattr(node_class.find_clauses, "_devstack", False):
        node_class.find_clauses = remembered_clauses(node_class.find_clauses)
    update_validator: Any = validators.UpdateExpressionValidator
    if not getattr(update_validator.__init__, "_devstack", False):
        update_validator.__init__ = remember_source(update_validator.__init__)
        update_validator.validate = checked_once
    for name in ("ActionCountValidator", "OverlappingPathsValidator"):
        validator = getattr(validators, name)
        if not getattr(validator.__dict__.get("traverse"), "_devstack", False):
            validator.traverse = reading_pass(validator.traverse)
    table_module.copy = _CopyUnless(copy, query_results)  # type: ignore[attr-defined,assignment]
    table_module.Table.sorted_items = sorted_items  # type: ignore[method-assign]
    if not getattr(table_module.Table.all_items, "_devstack", False):
        table_module.Table.all_items = unsorted_in_query(table_module.Table.all_items)  # type: ignore[method-assign,assignment]
    from moto.dynamodb import comparisons

    parser_class: Any = comparisons.ConditionExpressionParser
    if not getattr(parser_class._lex_condition_expression, "_devstack", False):
        parser_class._lex_condition_expression = lexed_once(parser_class._lex_condition_expression)
    table_module.Table.query = shallow_results(table_module.Table.query)  # type: ignore[method-assign]
    Item.size = sized_once(Item.size)  # type: ignore[method-assign,assignment]
    models_any: Any = models_module
    if not isinstance(models_any.copy, _CopyUnless):
        models_any.copy = _CopyUnless(models_any.copy, shared_item)
        DynamoDBBackend.update_item = old_item_only_for_streams(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    for name, method in atomic_writes(DynamoDBBackend).items():
        setattr(DynamoDBBackend, name, method)
    from moto.core.serialize import BaseJSONSerializer

    if not getattr(BaseJSONSerializer._serialize_type_structure, "_devstack", False):
        BaseJSONSerializer._serialize_type_structure = plain_attribute_values(  # type: ignore[method-assign]
            BaseJSONSerializer._serialize_type_structure
        )


# -- response serialisation ---------------------------------------------------------

# DynamoDB's AttributeValue union as botocore's model gives it (dynamodb and dynamodbstreams
# alike): member -> (type, the type of its list's elements).
_ATTRIBUTE_MEMBERS = {
    "S": ("string", None), "N": ("string", None), "B": ("blob", None),
    "SS": ("list", "string"), "NS": ("list", "string"), "BS": ("list", "blob"),
    "M": ("map", None), "L": ("list", "structure"), "NULL": ("boolean", None), "BOOL": ("boolean", None),
}
_DYNAMODB_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_plain_shapes: dict[int, bool] = {}


class _NotPlain(Exception):
    """A value the fast path does not handle exactly as moto would: moto's serializer takes it."""


def _is_attribute_value(shape: Any) -> bool:
    """True for the AttributeValue shape of a model that matches _ATTRIBUTE_MEMBERS exactly."""
    known = _plain_shapes.get(id(shape))
    if known is None:
        members = shape.members
        known = set(members) == set(_ATTRIBUTE_MEMBERS) and all(
            members[name].type_name == kind
            and not members[name].serialization
            and (element is None or members[name].member.type_name == element)
            for name, (kind, element) in _ATTRIBUTE_MEMBERS.items()
        )
        _plain_shapes[id(shape)] = known
    return known


def _text(value: Any) -> Any:
    """moto's JSON string rule (BaseJSONSerializer._serialize_type_string)."""
    return str(value) if value not in (None, {}, []) else value


def _blob(value: Any) -> str:
    """moto's blob rule (ResponseSerializer._base64)."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def wire_attribute(value: Any) -> dict[str, Any]:
    """One AttributeValue ({type: value}) as moto's JSON serializer writes it, without walking the
    botocore shape member by member through six alias providers each (see plain_attribute_values).
    Raises _NotPlain for anything but a one-member dict of the union."""
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((kind, inner),) = value.items()
    if kind not in _ATTRIBUTE_MEMBERS:
        raise _NotPlain
    if inner is None:
        return {}  # moto skips a member whose value is None
    if kind in ("S", "N"):
        return {kind: _text(inner)}
    if kind in ("NULL", "BOOL"):
        return {kind: inner}
    if kind == "B":
        return {kind: _blob(inner)}
    if kind in ("SS", "NS", "BS", "L") and not isinstance(inner, list | tuple):
        raise _NotPlain
    if kind in ("SS", "NS"):
        return {kind: [_text(item) for item in inner]}
    if kind == "BS":
        return {kind: [_blob(item) for item in inner]}
    if kind == "L":
        return {kind: [wire_attribute(item) for item in inner]}
    if type(inner) is not dict:
        raise _NotPlain
    return {kind: {name: wire_attribute(item) for name, item in inner.items()}}


def plain_attribute_values(serialize: Callable[..., None]) -> Callable[..., None]:
    """BaseJSONSerializer._serialize_type_structure (moto/core/serialize.py), with DynamoDB's
    AttributeValue written directly: moto's generic serializer looks every member of the
    union up through XFormedAttributePicker's alias providers, ten members per attribute,
    so answering one item cost ~150 lookups per attribute and serialising responses was the
    largest single cost of the DynamoDB process in a burst. Same output (a one-member dict of
    the union, strings and numbers as text, binaries base64); anything else goes to moto."""

    @functools.wraps(serialize)
    def structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (key and shape.name == "AttributeValue" and self.service_model.service_name in _DYNAMODB_SERVICES
                and _is_attribute_value(shape)):
            try:
                serialized[key] = wire_attribute(value)
                return
            except _NotPlain:
                pass
        serialize(self, serialized, value, shape, key)

    structure._devstack = True  # type: ignore[attr-defined]
    return structure
