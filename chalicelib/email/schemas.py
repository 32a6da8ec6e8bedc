"""What data each template kind takes: templates/<kind>/schema.json, and its checker.

A schema lists `required` and `optional` fields, each with a type and its
limits; a request whose data does not fit is refused where it arrives (POST
/notifications, the notification-requests topic) with every problem listed,
instead of failing when the email is rendered. Lead-only kinds (`lead_only`)
describe their template context (the lead and its enrichment), which the
lead form's own validation produces; nobody may request them.

Types: `line` (one line of text: no control characters, no `=?`, the opener
of an RFC 2047 encoded word that mail software would decode in a header),
`text` (free text, line breaks allowed), `email`, `integer`, `number`,
`boolean`, `list` (of `items`), `object` (its own `required`/`optional`;
nothing else), `map` (string keys to `values`). Limits: `min`/`max` (length of
text, size of a list or map, or the value of a number).

Hand-written, like the lead form's validation (api/validation.py): a few flat
rules, and pydantic or jsonschema would add their import to every cold start.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

from chalicelib.core.rules import has_control_chars, has_line_control_chars, is_valid_email
from chalicelib.email.rendering import TEMPLATES_DIR

SCHEMA_FILE = "schema.json"
DEFAULT_LINE_MAX = 200
DEFAULT_TEXT_MAX = 5000
DEFAULT_COLLECTION_MAX = 100
MAX_DEPTH = 4
TYPES = frozenset({"line", "text", "email", "integer", "number", "boolean", "list", "object", "map"})

FieldProblem = tuple[str, str]  # (field path, what is wrong)


class SchemaError(ValueError):
    """A schema.json that is not a schema (a deployment fault, found by the template tests)."""


@cache
def schema(kind: str) -> dict[str, Any] | None:
    """The kind's schema, or None if templates/ has no such kind."""
    path = TEMPLATES_DIR / kind / SCHEMA_FILE
    if "/" in kind or "\\" in kind or kind.startswith(".") or not path.is_file():
        return None
    loaded = json.loads(path.read_text(encoding="utf-8"))
    check_schema(loaded, kind)
    return dict(loaded)


def kinds() -> frozenset[str]:
    """Every kind with a schema (email kinds and the team's chat message)."""
    return frozenset(p.name for p in TEMPLATES_DIR.iterdir() if (p / SCHEMA_FILE).is_file())


def requestable(kind: str) -> bool:
    """A kind other systems may ask for: it has a schema and needs no lead."""
    found = schema(kind)
    return found is not None and not found.get("lead_only", False)


def check_schema(node: dict[str, Any], where: str) -> None:
    for group in ("required", "optional"):
        fields = node.get(group, {})
        if not isinstance(fields, dict):
            raise SchemaError(f"{where}: {group} must be an object")
        for name, spec in fields.items():
            _check_spec(spec, f"{where}.{name}")


def _check_spec(spec: Any, where: str) -> None:
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise SchemaError(f"{where}: a field needs a type, one of {sorted(TYPES)}")
    if spec["type"] == "object":
        check_schema(spec, where)
    elif spec["type"] == "list":
        _check_spec(spec.get("items"), where + "[]")
    elif spec["type"] == "map":
        _check_spec(spec.get("values"), where + "{}")


# --- Checking data ---------------------------------------------------------------


def validate(kind: str, data: Any) -> list[FieldProblem]:
    """Every problem of a request's `data` for this kind ([]: it fits)."""
    found = schema(kind)
    if found is None:
        return [("kind", "is not a kind of notification this service has")]
    problems: list[FieldProblem] = []
    _object(found, data, "data", problems, 0)
    return problems


def _object(spec: dict[str, Any], value: Any, path: str, out: list[FieldProblem], depth: int) -> None:
    if not isinstance(value, dict):
        out.append((path, "must be an object"))
        return
    required, optional = spec.get("required", {}), spec.get("optional", {})
    for name in sorted(set(value) - set(required) - set(optional), key=str):
        out.append((f"{path}.{str(name)[:64]}", "is not a field of this kind"))
    for name, field_spec in required.items():
        if value.get(name) is None:
            out.append((f"{path}.{name}", "is required"))
        else:
            _field(field_spec, value[name], f"{path}.{name}", out, depth + 1)
    for name, field_spec in optional.items():
        if value.get(name) not in (None, ""):  # null and "" mean absent, as in the lead form
            _field(field_spec, value[name], f"{path}.{name}", out, depth + 1)


def _length(spec: dict[str, Any], size: int, default_max: int, unit: str) -> str | None:
    low, high = int(spec.get("min", 1 if unit == "characters" else 0)), int(spec.get("max", default_max))
    if not low <= size <= high:
        return f"must have {low}-{high} {unit}" if low else f"must have at most {high} {unit}"
    return None


def _field(spec: dict[str, Any], value: Any, path: str, out: list[FieldProblem], depth: int) -> None:
    kind = spec["type"]
    if depth > MAX_DEPTH:
        out.append((path, "is nested too deeply"))
        return
    problem: str | None = None
    if kind in ("line", "text", "email"):
        if not isinstance(value, str):
            problem = "must be a string"
        elif kind == "email":
            problem = None if is_valid_email(value.strip()) else "must be one valid email address"
        else:
            problem = _length(spec, len(value.strip()), DEFAULT_LINE_MAX if kind == "line" else DEFAULT_TEXT_MAX,
                              "characters")
            if problem is None and kind == "line" and (has_control_chars(value) or "=?" in value):
                problem = "must be one line without control characters or '=?'"
            elif problem is None and kind == "text" and has_line_control_chars(value):
                problem = "must not contain control characters"
    elif kind in ("integer", "number"):
        problem = _number(spec, value, integer=kind == "integer")
    elif kind == "boolean":
        problem = None if isinstance(value, bool) else "must be true or false"
    elif kind == "list":
        if not isinstance(value, list):
            problem = "must be a list"
        else:
            problem = _length(spec, len(value), DEFAULT_COLLECTION_MAX, "items")
            if problem is None:
                for index, item in enumerate(value):
                    _field(spec["items"], item, f"{path}[{index}]", out, depth + 1)
    elif kind == "map":
        problem = _map(spec, value, path, out, depth)
    else:
        _object(spec, value, path, out, depth)
    if problem:
        out.append((path, problem))


def _number(spec: dict[str, Any], value: Any, integer: bool) -> str | None:
    valid = isinstance(value, int) if integer else isinstance(value, int | float) and math.isfinite(value)
    if isinstance(value, bool) or not valid:
        return "must be an integer" if integer else "must be a number"
    low, high = spec.get("min"), spec.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"must be from {low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
    return None


def _map(spec: dict[str, Any], value: Any, path: str, out: list[FieldProblem], depth: int) -> str | None:
    if not isinstance(value, dict):
        return "must be an object"
    problem = _length(spec, len(value), DEFAULT_COLLECTION_MAX, "keys")
    if problem:
        return problem
    for key, item in value.items():
        if not 1 <= len(key) <= 64 or has_control_chars(key) or "=?" in key:
            out.append((f"{path}.{key[:64]}", "keys must be 1-64 characters on one line"))
        else:
            _field(spec["values"], item, f"{path}.{key}", out, depth + 1)
    return None
