"""Lambda event filtering (FilterCriteria patterns), as event source mappings apply it.

A record passes when any pattern matches. Within a pattern every key must
match; a list of matchers matches when any one does. Supported: exact values
and null, prefix, suffix, equals-ignore-case, wildcard, anything-but,
numeric, exists, and `$or`.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

_MISSING = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def passes(record: dict[str, Any], patterns: Sequence[dict[str, Any]]) -> bool:
    return not patterns or any(_match_object(record, pattern) for pattern in patterns)


def sqs_filterable(record: dict[str, Any]) -> dict[str, Any]:
    """SQS patterns see the body as JSON when it is JSON, else as the plain string
    (as a body nested too deeply to parse is: a RecursionError must not stop the poller)."""
    try:
        body = json.loads(record.get("body", ""))
    except (ValueError, RecursionError):
        return record
    return {**record, "body": body}


def _match_object(value: Any, pattern: dict[str, Any]) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_match_object(value, alternative) for alternative in sub):
                return False
            continue
        field = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if isinstance(sub, dict):
            if not _match_object({} if field is _MISSING else field, sub):
                return False
        elif not _match_field(field, sub):
            return False
    return True


def _match_field(field: Any, matchers: list[Any]) -> bool:
    values = field if isinstance(field, list) else [field]
    return any(_match_one(value, matcher) for value in values for matcher in matchers)


def _match_one(value: Any, matcher: Any) -> bool:
    if not isinstance(matcher, dict):
        return value is not _MISSING and _equal(value, matcher)
    if "exists" in matcher:
        return (value is not _MISSING) == bool(matcher["exists"])
    if value is _MISSING:
        return False
    (kind, arg), = matcher.items()
    if kind == "anything-but":
        return not _anything_matches(value, arg)
    return _MATCHERS[kind](value, arg)


def _anything_matches(value: Any, arg: Any) -> bool:
    if isinstance(arg, dict):
        return _match_one(value, arg)
    options = arg if isinstance(arg, list) else [arg]
    return any(_equal(value, option) for option in options)


def _equal(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    if isinstance(expected, (int, float)):
        number = _as_number(value)
        return number is not None and number == expected
    return bool(value == expected)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _prefix(value: Any, arg: Any) -> bool:
    if isinstance(arg, dict):
        return isinstance(value, str) and value.lower().startswith(str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and value.startswith(arg)


def _suffix(value: Any, arg: Any) -> bool:
    if isinstance(arg, dict):
        return isinstance(value, str) and value.lower().endswith(str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and value.endswith(arg)


def _numeric(value: Any, arg: list[Any]) -> bool:
    number = _as_number(value)
    if number is None:
        return False
    pairs = zip(arg[0::2], arg[1::2], strict=True)
    return all(_NUMERIC_OPS[op](number, float(bound)) for op, bound in pairs)


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


_MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": lambda value, arg: isinstance(value, str) and value.lower() == str(arg).lower(),
    "wildcard": lambda value, arg: isinstance(value, str) and _wildcard(arg).fullmatch(value) is not None,
    "numeric": _numeric,
}
