"""Lambda's event filtering (an event source mapping's `FilterCriteria`), as Lambda applies it to each record before
batching: a record goes to the function when one of the filters' patterns matches it, and is dropped (as handled)
otherwise.

A pattern is a JSON object shaped like the record: each key names a field, an object goes down a level, and a
list holds the rules one of which the field's value must meet (a field holding a list meets them when one of its
elements does). The rules are Lambda's: a value (string, number, true, false, null) matched exactly, and
`{"prefix": ...}`, `{"suffix": ...}`, `{"equals-ignore-case": ...}`, `{"anything-but": ...}`,
`{"numeric": [...]}` and `{"exists": true|false}`. A numeric rule compares JSON numbers only: a DynamoDB number is
a string in the record (`{"N": "5"}`) and meets no numeric rule, as on AWS. What Lambda refuses is refused when the
mapping is made (`FilterError`), and so is what the local stack does not apply (`$or`, `wildcard`, `cidr`).
"""

from __future__ import annotations

import json
from typing import Any

_OPERATORS = {"=", "<", "<=", ">", ">="}
_NOT_APPLIED = {"wildcard", "cidr"}


class FilterError(ValueError):
    """A filter Lambda would refuse ("Invalid filter pattern definition"), or one the local stack does not apply."""


def compile_criteria(criteria: Any) -> list[dict[str, Any]]:
    """The patterns of a `FilterCriteria` ({"Filters": [{"Pattern": "<JSON>"}, ...]}), each checked."""
    if not isinstance(criteria, dict) or not isinstance(criteria.get("Filters"), list) or not criteria["Filters"]:
        raise FilterError("FilterCriteria needs a list of Filters")
    patterns = []
    for entry in criteria["Filters"]:
        text = entry.get("Pattern") if isinstance(entry, dict) else None
        if not isinstance(text, str):
            raise FilterError("each filter's Pattern is a JSON string")
        try:
            pattern = json.loads(text)
        except ValueError:
            raise FilterError(f"invalid filter pattern definition: {text}") from None
        _check_object(pattern, text)
        patterns.append(pattern)
    return patterns


def _check_object(pattern: Any, text: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise FilterError(f"invalid filter pattern definition: {text}")
    for key, value in pattern.items():
        if key.startswith("$"):
            raise FilterError(f"{key} is not applied by the local stack: {text}")
        if isinstance(value, dict):
            _check_object(value, text)
        elif isinstance(value, list) and value:
            for rule in value:
                _check_rule(rule, text)
        else:
            raise FilterError(f"invalid filter pattern definition (a field takes a list of rules): {text}")


def _check_rule(rule: Any, text: str) -> None:
    if rule is None or isinstance(rule, (str, int, float, bool)):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise FilterError(f"invalid filter pattern definition: {text}")
    ((name, argument),) = rule.items()
    if name in _NOT_APPLIED:
        raise FilterError(f"{name} rules are not applied by the local stack: {text}")
    if name in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(argument, str):
            raise FilterError(f"{name} takes a string: {text}")
    elif name == "exists":
        if not isinstance(argument, bool):
            raise FilterError(f"exists takes true or false: {text}")
    elif name == "numeric":
        _check_numeric(argument, text)
    elif name == "anything-but":
        values = argument if isinstance(argument, list) else [argument]
        if isinstance(argument, dict):
            if len(argument) != 1 or next(iter(argument)) not in ("prefix", "suffix", "equals-ignore-case"):
                raise FilterError(f"anything-but takes values, or one prefix, suffix or equals-ignore-case: {text}")
            if not isinstance(next(iter(argument.values())), str):
                raise FilterError(f"anything-but's {next(iter(argument))} takes a string: {text}")
        elif not values or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            raise FilterError(f"anything-but takes strings or numbers: {text}")
    else:
        raise FilterError(f"unknown filter rule {name!r}: {text}")


def _check_numeric(argument: Any, text: str) -> None:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise FilterError(f"numeric takes one or two comparisons: {text}")
    for operator, operand in zip(argument[::2], argument[1::2], strict=True):
        if operator not in _OPERATORS or not _is_number(operand):
            raise FilterError(f"numeric takes an operator and a number: {text}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def matches(patterns: list[dict[str, Any]], record: Any) -> bool:
    """Whether a record passes the filters: one of the patterns matches it (no patterns: every record passes)."""
    return not patterns or any(_object_matches(pattern, record) for pattern in patterns)


_MISSING = object()


def _object_matches(pattern: dict[str, Any], value: Any) -> bool:
    fields = value if isinstance(value, dict) else {}
    return all(_field_matches(rules, fields.get(key, _MISSING)) for key, rules in pattern.items())


def _field_matches(rules: Any, value: Any) -> bool:
    if isinstance(rules, dict):  # a level down: a missing object matches only rules that want fields missing
        return _object_matches(rules, {} if value is _MISSING else value)
    if value is _MISSING:
        return any(isinstance(rule, dict) and rule.get("exists") is False for rule in rules)
    if isinstance(value, dict):  # rules apply to leaves; an object is not one
        return False
    values = value if isinstance(value, list) else [value]
    return any(_rule_matches(rule, v) for rule in rules for v in values)


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return _same(rule, value)
    ((name, argument),) = rule.items()
    if name == "exists":
        return bool(argument)
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == argument.casefold()
    if name == "numeric":
        return _is_number(value) and all(
            _compare(value, operator, operand) for operator, operand in zip(argument[::2], argument[1::2], strict=True)
        )
    if name == "anything-but":
        if isinstance(argument, dict):
            ((how, text),) = argument.items()
            return isinstance(value, str) and not _rule_matches({how: text}, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return value is not None and not any(_same(e, value) for e in excluded)
    return False


def _same(expected: Any, value: Any) -> bool:
    """Equal and of the same JSON type: "5" is not 5, and true is not 1."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _compare(value: float, operator: str, operand: float) -> bool:
    return {
        "=": value == operand,
        "<": value < operand,
        "<=": value <= operand,
        ">": value > operand,
        ">=": value >= operand,
    }[operator]
