"""Example data for a template kind, made from its schema (email/schemas.py): only what is
required, or everything it can take."""

from __future__ import annotations

from typing import Any

from chalicelib.email import rendering, schemas


def example(spec: dict[str, Any], path: str, full: bool) -> Any:
    kind = spec["type"]
    if kind == "line":
        return f"L-{path}"[: int(spec.get("max", 200))]
    if kind == "text":
        return f"Text of {path}\nsecond line"[: int(spec.get("max", 5000))]
    if kind == "email":
        return "someone@example.com"
    if kind == "integer":
        return int(spec.get("min", 2))
    if kind == "number":
        return float(spec.get("min", 2.5))
    if kind == "boolean":
        return True
    if kind == "list":
        return [example(spec["items"], f"{path}-{i}", full) for i in range(2 if full else 1)]
    if kind == "map":
        return {f"k{i}": example(spec["values"], f"{path}-k{i}", full) for i in range(2 if full else 1)}
    return fields(spec, path, full)


def fields(spec: dict[str, Any], path: str, full: bool) -> dict[str, Any]:
    groups = ("required", "optional") if full else ("required",)
    return {
        name: example(field_spec, f"{path}.{name}" if path else name, full)
        for group in groups for name, field_spec in spec.get(group, {}).items()
    }


def data_for(kind: str, full: bool) -> dict[str, Any]:
    found = schemas.schema(kind)
    assert found is not None, kind
    return fields(found, "", full)


def context_for(kind: str, full: bool) -> dict[str, Any]:
    """The template context: a lead-only kind's schema describes it; another kind's data is `data`."""
    found = schemas.schema(kind) or {}
    data = data_for(kind, full)
    return data if found.get("lead_only") else {"data": data}


def line_values(value: Any) -> list[str]:
    """Every `L-...` value in example data (each must show in what is rendered)."""
    if isinstance(value, str):
        return [value] if value.startswith("L-") else []
    if isinstance(value, dict):
        return [found for item in value.values() for found in line_values(item)]
    if isinstance(value, list):
        return [found for item in value for found in line_values(item)]
    return []


def subject_fields(kind: str) -> frozenset[str] | None:
    """The `data` keys the kind's subject template reads (`data.x`, `data["x"]`);
    None when it uses `data` in any other way, so that every value may reach it."""
    from jinja2 import nodes

    env = rendering.environment()
    source, _, _ = env.loader.get_source(env, f"{kind}/subject.txt")
    fields: set[str] = set()
    whole = False

    def visit(node: nodes.Node) -> None:
        nonlocal whole
        inner = getattr(node, "node", None)
        if isinstance(inner, nodes.Name) and inner.name == "data":
            if isinstance(node, nodes.Getattr):
                fields.add(node.attr)
                return
            if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                fields.add(str(node.arg.value))
                return
        if isinstance(node, nodes.Name) and node.name == "data":
            whole = True
        for child in node.iter_child_nodes():
            visit(child)

    visit(env.parse(source))
    return None if whole else frozenset(fields)
