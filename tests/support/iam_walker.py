"""Static IAM check: every boto3 call site in chalicelib/, and which Lambda
function can reach it.

How it works (sound over-approximation, documented limits):
- Client getters are found in chalicelib/aws.py (functions returning
  `client("svc")` or `boto3...client("svc", ...)`) and, to a fixed point, any
  chalicelib function returning a getter's result.
- A call site is `<client>.<op>(...)` where `<client>` is a getter call or a
  local variable assigned from one; `<client>.get_paginator("op")` counts as op.
  Any other `x.<op>(...)` whose name is an operation of a service in use is
  reported as unattributed, so a client reached some other way fails the test
  instead of hiding.
- Reachability: from each app.py handler, every chalicelib function or class
  it (transitively) names - called or passed as a callback; a class stands for
  all its methods; `obj.m(...)` on an unknown object stands for every
  chalicelib method named m; naming a module runs its module-level code.
- Operation -> IAM action: the operation's own name under the service's IAM
  prefix, except ACTION_EXCEPTIONS (e.g. TransactWriteItems is authorised as
  its items' PutItem/UpdateItem/DeleteItem/ConditionCheckItem).
- Resource: when a call's TableName/Bucket/TopicArn/QueueUrl argument names a
  Settings field (directly, through a local variable or a zero-argument helper)
  the expected ARN is known and checked; otherwise only the action is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROUTE_DECORATORS = {"route"}
HANDLER_DECORATORS = {
    "authorizer",
    "on_dynamodb_record",
    "on_sqs_message",
    "on_sns_message",
    "on_s3_event",
    "on_kinesis_record",
    "schedule",
    "lambda_function",
    "on_cw_event",
}

# Calls whose IAM action is not simply "<prefix>:<OperationName>".
ACTION_EXCEPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("dynamodb", "transact_get_items"): ("dynamodb:GetItem",),
    # SES v2 SendEmail: ses:SendEmail per the reference; with raw content SES
    # has been seen to check ses:SendRawEmail too, so both are required.
    ("sesv2", "send_email"): ("ses:SendEmail", "ses:SendRawEmail"),
    ("s3", "head_object"): ("s3:GetObject",),
    ("s3", "list_objects_v2"): ("s3:ListBucket",),
    ("sqs", "send_message_batch"): ("sqs:SendMessage",),
    ("sqs", "delete_message_batch"): ("sqs:DeleteMessage",),
    ("sqs", "change_message_visibility_batch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "publish_batch"): ("sns:Publish",),
}
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}

# Settings fields that name a resource of infra/resources.py.
SETTINGS_RESOURCES = {
    "leads_table": "LeadsTable",
    "deliveries_table": "DeliveriesTable",
    "suppression_table": "SuppressionTable",
    "idempotency_table": "IdempotencyTable",
    "rate_limit_table": "RateLimitTable",
    "audit_bucket": "AuditBucket",
    "lead_events_topic_arn": "LeadEventsTopic",
    "notification_requests_topic_arn": "NotificationRequestsTopic",
    "notifications_queue": "NotificationsQueue",
    "notifications_dlq": "NotificationsDLQ",
    "ses_feedback_dlq": "SesFeedbackDLQ",
    "lead_stream_dlq": "LeadStreamDLQ",
    "lead_audit_dlq": "LeadAuditDLQ",
}
RESOURCE_KEYWORDS = ("TableName", "Bucket", "TopicArn", "QueueUrl", "QueueName")


@dataclass(frozen=True)
class CallSite:
    module: str
    function: str  # qualified: module:func or module:Class.method
    line: int
    service: str
    operation: str
    actions: tuple[str, ...]
    resource: str | None = None  # a logical id of infra/resources.py, when known
    index: str | None = None

    def where(self) -> str:
        return f"{self.module.replace('.', '/')}.py:{self.line} {self.service}.{self.operation}"


@dataclass
class Module:
    name: str
    tree: ast.Module
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> "module" or "module:symbol"


@dataclass
class Report:
    handlers: dict[str, str]  # python function in app.py -> Lambda function name
    calls_by_function: dict[str, list[CallSite]]
    unattributed: list[str]
    all_calls: list[CallSite]


# --- botocore knowledge --------------------------------------------------------


@cache
def service_operations(service: str) -> dict[str, str]:
    """snake_case operation -> PascalCase, from botocore's model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def iam_prefix(service: str) -> str:
    import botocore.session

    return str(botocore.session.get_session().get_service_model(service).signing_name)


def operation_actions(service: str, operation: str, call: ast.Call) -> tuple[str, ...]:
    if (service, operation) == ("dynamodb", "transact_write_items"):
        return _transact_actions(call)
    if (service, operation) in ACTION_EXCEPTIONS:
        return ACTION_EXCEPTIONS[(service, operation)]
    return (f"{iam_prefix(service)}:{service_operations(service)[operation]}",)


def _transact_actions(call: ast.Call) -> tuple[str, ...]:
    items = next((k.value for k in call.keywords if k.arg == "TransactItems"), None)
    kinds: set[str] = set()
    if isinstance(items, ast.List):
        for element in items.elts:
            # `*({"Put": x} for x in ...)` inside the list: the generator's own dict says the kind.
            if isinstance(element, ast.Starred) and isinstance(element.value, ast.GeneratorExp | ast.ListComp):
                element = element.value.elt
            if not isinstance(element, ast.Dict):
                return tuple(sorted(TRANSACT_ITEM_ACTIONS.values()))
            kinds |= {k.value for k in element.keys if isinstance(k, ast.Constant)}
    known = {TRANSACT_ITEM_ACTIONS[k] for k in kinds if k in TRANSACT_ITEM_ACTIONS}
    return tuple(sorted(known or TRANSACT_ITEM_ACTIONS.values()))


# --- loading -------------------------------------------------------------------


def load_modules(project_dir: Path, package: str = "chalicelib") -> dict[str, Module]:
    modules: dict[str, Module] = {}
    paths = [(project_dir / "app.py", "app")] + [
        (path, ".".join(path.relative_to(project_dir).with_suffix("").parts).removesuffix(".__init__"))
        for path in sorted((project_dir / package).rglob("*.py"))
    ]
    for path, name in paths:
        module = Module(name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        _index_module(module)
        modules[name] = module
    return modules


def _index_module(module: Module) -> None:
    for node in module.tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            module.functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            module.classes[node.name] = [m.name for m in methods]
            for method in methods:
                module.functions[f"{node.name}.{method.name}"] = method
    module.aliases = _import_aliases(module.tree.body)


def _import_aliases(statements: list[ast.stmt] | Iterator[ast.AST]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return aliases


# --- the walker ------------------------------------------------------------------


class Walker:
    def __init__(self, modules: dict[str, Module], package: str = "chalicelib") -> None:
        self.modules = modules
        self.package = package
        self.getters: dict[str, str] = {}  # "module:function" -> service
        self._find_getters()
        self.services_in_use = set(self.getters.values())
        self.all_operations = {op for s in self.services_in_use for op in service_operations(s)}
        self.methods_by_name: dict[str, list[str]] = {}
        for module in modules.values():
            for qualname in module.functions:
                if "." in qualname:
                    self.methods_by_name.setdefault(qualname.split(".")[1], []).append(f"{module.name}:{qualname}")

    # symbols

    def resolve(self, module: Module, local_aliases: dict[str, str], name: str) -> str | None:
        """A name in scope -> "module" or "module:symbol" (chalicelib only)."""
        if name in local_aliases:
            target = local_aliases[name]
        elif name in module.aliases:
            target = module.aliases[name]
        elif name in module.functions or name in module.classes:
            return f"{module.name}:{name}"
        else:
            return None
        if ":" in target:
            mod, symbol = target.split(":", 1)
            if f"{mod}.{symbol}" in self.modules:  # `from chalicelib import leads`
                return f"{mod}.{symbol}"
            return target if mod in self.modules else None
        return target if target in self.modules else None

    def resolve_attribute(self, module: Module, local_aliases: dict[str, str], node: ast.Attribute) -> str | None:
        if isinstance(node.value, ast.Name):
            base = self.resolve(module, local_aliases, node.value.id)
            if base and ":" not in base:
                target = self.modules[base]
                if node.attr in target.functions or node.attr in target.classes:
                    return f"{base}:{node.attr}"
        return None

    # getters

    def _find_getters(self) -> None:
        aws = self.modules.get(f"{self.package}.aws")
        changed = True
        while changed:
            changed = False
            for module in self.modules.values():
                for qualname, function in module.functions.items():
                    key = f"{module.name}:{qualname}"
                    if key in self.getters:
                        continue
                    service = self._returned_service(module, function, aws)
                    if service:
                        self.getters[key] = service
                        changed = True

    def _returned_service(self, module: Module, function: ast.AST, aws: Module | None) -> str | None:
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                service = self.client_service(module, _local_aliases(function), node.value, {})
                if service:
                    return service
        return None

    def client_service(
        self, module: Module, local_aliases: dict[str, str], node: ast.expr, variables: dict[str, str]
    ) -> str | None:
        """The service of a client expression, or None."""
        if isinstance(node, ast.Name):
            return variables.get(node.id)
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        # boto3 ... .client("svc", ...) and aws.client("svc")
        if isinstance(func, ast.Attribute | ast.Name):
            name = func.attr if isinstance(func, ast.Attribute) else func.id
            if name == "client" and node.args and isinstance(node.args[0], ast.Constant):
                return str(node.args[0].value)
        target = None
        if isinstance(func, ast.Name):
            target = self.resolve(module, local_aliases, func.id)
        elif isinstance(func, ast.Attribute):
            target = self.resolve_attribute(module, local_aliases, func)
        return self.getters.get(target or "")

    # per function

    def analyse(self, module: Module, qualname: str, node: ast.AST) -> tuple[set[str], list[CallSite], list[str]]:
        """Edges (symbols named), call sites, unattributed calls of one function."""
        local_aliases = _local_aliases(node) if not isinstance(node, ast.Module) else {}
        variables: dict[str, str] = {}
        edges: set[str] = set()
        calls: list[CallSite] = []
        unattributed: list[str] = []
        class_name = qualname.split(".")[0] if "." in qualname else None
        for child in _walk_own(node):
            if isinstance(child, ast.Import | ast.ImportFrom):  # importing runs module-level code
                edges.update(t for a in _import_aliases([child]) if (t := self.resolve(module, local_aliases, a)))
            if isinstance(child, ast.Assign) and len(child.targets) == 1 and isinstance(child.targets[0], ast.Name):
                service = self.client_service(module, local_aliases, child.value, variables)
                if service:
                    variables[child.targets[0].id] = service
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                target = self.resolve(module, local_aliases, child.id)
                if target:
                    edges.add(target)
            elif isinstance(child, ast.Attribute):
                target = self.resolve_attribute(module, local_aliases, child)
                if target:
                    edges.add(target)
                elif (
                    isinstance(child.value, ast.Name)
                    and child.value.id in ("self", "cls")
                    and class_name
                    and f"{class_name}.{child.attr}" in module.functions
                ):
                    edges.add(f"{module.name}:{class_name}.{child.attr}")
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                site = self._call_site(module, qualname, local_aliases, variables, child)
                if site:
                    calls.append(site)
                elif child.func.attr in self.all_operations and not self._is_module_call(
                    module, local_aliases, child.func
                ):
                    unattributed.append(f"{module.name}:{child.lineno} .{child.func.attr}(...)")
                elif _is_super(child.func.value):
                    edges.update(self.base_methods(module, local_aliases, class_name, child.func.attr))
                elif child.func.attr in self.methods_by_name and not self._is_module_call(
                    module, local_aliases, child.func
                ):
                    edges.update(self.methods_by_name[child.func.attr])
        return edges, calls, unattributed

    def base_methods(
        self, module: Module, local_aliases: dict[str, str], class_name: str | None, name: str
    ) -> set[str]:
        """`super().name(...)` reaches the method of the class's own bases in the project, not
        every method of that name (an exception's `super().__init__` is Exception's)."""
        found: set[str] = set()
        for node in module.tree.body:
            if not (isinstance(node, ast.ClassDef) and node.name == class_name):
                continue
            for base in node.bases:
                target = self.resolve(module, local_aliases, base.id) if isinstance(base, ast.Name) else None
                if target and ":" in target:
                    mod, cls = target.split(":", 1)
                    if name in self.modules[mod].classes.get(cls, []):
                        found.add(f"{mod}:{cls}.{name}")
        return found

    def _is_module_call(self, module: Module, local_aliases: dict[str, str], func: ast.Attribute) -> bool:
        return isinstance(func.value, ast.Name) and self.resolve(module, local_aliases, func.value.id) is not None

    def _call_site(
        self,
        module: Module,
        qualname: str,
        local_aliases: dict[str, str],
        variables: dict[str, str],
        call: ast.Call,
    ) -> CallSite | None:
        func = call.func
        assert isinstance(func, ast.Attribute)
        service = self.client_service(module, local_aliases, func.value, variables)
        if not service:
            return None
        operation = func.attr
        if operation == "get_paginator" and call.args and isinstance(call.args[0], ast.Constant):
            operation = str(call.args[0].value)
        if operation not in service_operations(service):
            return None  # exceptions, meta, waiters: not API calls
        resource, index = self._resource(module, local_aliases, call)
        return CallSite(
            module.name,
            f"{module.name}:{qualname}",
            call.lineno,
            service,
            operation,
            operation_actions(service, operation, call),
            resource,
            index,
        )

    def _resource(self, module: Module, local_aliases: dict[str, str], call: ast.Call) -> tuple[str | None, str | None]:
        index = next(
            (str(k.value.value) for k in call.keywords if k.arg == "IndexName" and isinstance(k.value, ast.Constant)),
            None,
        )
        for keyword in call.keywords:
            if keyword.arg in RESOURCE_KEYWORDS:
                fields = self._settings_fields(module, local_aliases, keyword.value, depth=0)
                if len(fields) == 1:
                    return SETTINGS_RESOURCES[fields.pop()], index
        return None, index

    def _settings_fields(self, module: Module, local_aliases: dict[str, str], node: ast.AST, depth: int) -> set[str]:
        found = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr in SETTINGS_RESOURCES}
        if found or depth > 2:
            return found
        for n in ast.walk(node):  # a zero-argument helper such as _table()
            if isinstance(n, ast.Call) and not n.args and isinstance(n.func, ast.Name):
                target = self.resolve(module, local_aliases, n.func.id)
                if target and ":" in target:
                    mod, name = target.split(":", 1)
                    helper = self.modules[mod].functions.get(name)
                    if helper is not None:
                        found |= self._settings_fields(self.modules[mod], {}, helper, depth + 1)
        return found

    # whole program

    def run(self) -> Report:
        graph: dict[str, set[str]] = {}
        calls: dict[str, list[CallSite]] = {}
        unattributed: list[str] = []
        for module in self.modules.values():
            graph[f"{module.name}:<module>"], calls[f"{module.name}:<module>"], bad = self.analyse(
                module, "<module>", module.tree
            )
            unattributed += bad
            for qualname, function in module.functions.items():
                key = f"{module.name}:{qualname}"
                graph[key], calls[key], bad = self.analyse(module, qualname, function)
                unattributed += bad
        handlers = find_handlers(self.modules["app"])
        by_lambda: dict[str, list[CallSite]] = {}
        for python_name, lambda_name in handlers.items():
            reached = self.reachable(graph, f"app:{python_name}") | self.reachable(graph, "app:<module>")
            sites = [site for key in sorted(reached) for site in calls.get(key, [])]
            by_lambda.setdefault(lambda_name, []).extend(sites)
        all_calls = [site for sites in calls.values() for site in sites]
        return Report(handlers, by_lambda, sorted(set(unattributed)), all_calls)

    def reachable(self, graph: dict[str, set[str]], start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            for target in graph.get(key, ()):
                todo.extend(self._expand(target))
        return seen

    def _expand(self, target: str) -> list[str]:
        """A symbol -> the graph nodes it stands for."""
        if ":" not in target:  # a module: its top-level code
            return [f"{target}:<module>"]
        mod, name = target.split(":", 1)
        module = self.modules[mod]
        nodes = [f"{mod}:<module>"]
        if name in module.classes:
            nodes += [f"{mod}:{name}.{method}" for method in module.classes[name]]
        else:
            nodes.append(target)
        return nodes


def _local_aliases(node: ast.AST) -> dict[str, str]:
    return _import_aliases(n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """Every node of a function (or module top level), not of nested defs in a module."""
    if isinstance(node, ast.Module):
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from (d for dec in statement.decorator_list for d in ast.walk(dec))
            else:
                yield from ast.walk(statement)
    else:
        yield from ast.walk(node)


def find_handlers(app_module: Module) -> dict[str, str]:
    """app.py handler function -> the Lambda function (Chalice name) it runs in."""
    handlers: dict[str, str] = {}
    for name, function in app_module.functions.items():
        for decorator in function.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(call, ast.Attribute) and call.attr in ROUTE_DECORATORS:
                handlers[name] = "api_handler"
            elif isinstance(call, ast.Attribute) and call.attr in HANDLER_DECORATORS:
                handlers[name] = name
    return handlers


def _is_super(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def walk(project_dir: Path) -> Report:
    return Walker(load_modules(project_dir)).run()
