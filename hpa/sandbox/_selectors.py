"""Label and field selectors, parsed once per request and matched per object.

Label selector grammar (API concepts, "Label selectors"): comma-separated requirements, each
``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)`` or
``key notin (a,b)``. Field selectors support ``=``, ``==`` and ``!=`` on any dotted field path
(kube-apiserver supports a fixed list per kind; accepting every path is a superset that keeps
the sandbox simple). ``LabelSelector`` objects (``matchLabels``/``matchExpressions``) of webhook
configurations are matched by :func:`matches_selector_object`.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from hpa.sandbox import _errors

JSON = dict[str, Any]
Matcher = Callable[[JSON], bool]

_TOKEN: Final = re.compile(r"\s*(\(|\)|,|!=|==|=|!|[^\s(),!=]+)")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            break
        tokens.append(match.group(1))
        position = match.end()
    if text[position:].strip():
        raise _errors.bad_request(f"unable to parse requirement: {text!r}")
    return tokens


class _Requirement:
    __slots__ = ("key", "op", "values")

    def __init__(self, key: str, op: str, values: frozenset[str]) -> None:
        self.key, self.op, self.values = key, op, values

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and labels[self.key] in self.values
        # notin and != match objects without the key, as kube's selector does.
        return not present or labels[self.key] not in self.values


def _parse_values(tokens: list[str], position: int) -> tuple[frozenset[str], int]:
    if position >= len(tokens) or tokens[position] != "(":
        raise _errors.bad_request("unable to parse requirement: expected '('")
    values: set[str] = set()
    position += 1
    while position < len(tokens) and tokens[position] != ")":
        if tokens[position] != ",":
            values.add(tokens[position])
        position += 1
    if position >= len(tokens):
        raise _errors.bad_request("unable to parse requirement: expected ')'")
    return frozenset(values), position + 1


def _parse_requirement(tokens: list[str], position: int) -> tuple[_Requirement, int]:
    if tokens[position] == "!":
        return _Requirement(tokens[position + 1], "!exists", frozenset()), position + 2
    key = tokens[position]
    position += 1
    if position >= len(tokens) or tokens[position] == ",":
        return _Requirement(key, "exists", frozenset()), position
    op = tokens[position]
    if op in ("=", "=="):
        return _Requirement(key, "in", frozenset({tokens[position + 1]})), position + 2
    if op == "!=":
        return _Requirement(key, "notin", frozenset({tokens[position + 1]})), position + 2
    if op in ("in", "notin"):
        values, position = _parse_values(tokens, position + 1)
        return _Requirement(key, op, values), position
    raise _errors.bad_request(f"unable to parse requirement: unknown operator {op!r}")


def parse_labels(text: str | None) -> Matcher | None:
    """A predicate on objects for a ``labelSelector`` query; ``None`` when empty."""
    if not text or not text.strip():
        return None
    tokens = _tokens(text)
    requirements: list[_Requirement] = []
    position = 0
    try:
        while position < len(tokens):
            requirement, position = _parse_requirement(tokens, position)
            requirements.append(requirement)
            if position < len(tokens) and tokens[position] == ",":
                position += 1
    except IndexError:
        raise _errors.bad_request(f"unable to parse requirement: {text!r}") from None

    def matches(obj: JSON) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def field_value(obj: JSON, path: str) -> str:
    """The string value of a dotted field path, ``""`` when absent (as kube compares)."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_fields(text: str | None) -> Matcher | None:
    """A predicate on objects for a ``fieldSelector`` query; ``None`` when empty."""
    if not text or not text.strip():
        return None
    terms: list[tuple[str, bool, str]] = []
    for term in text.split(","):
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            if op in term:
                path, _, value = term.partition(op)
                terms.append((path.strip(), equal, value.strip()))
                break
        else:
            raise _errors.bad_request(f'invalid selector: {text!r}; can\'t understand "{term}"')

    def matches(obj: JSON) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches


def matches_selector_object(selector: JSON | None, labels: Mapping[str, str]) -> bool:
    """Whether labels match a ``metav1.LabelSelector`` (empty or absent matches everything)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        requirement = _Requirement(
            expression["key"],
            ops[expression["operator"]],
            frozenset(expression.get("values") or ()),
        )
        if not requirement.matches(labels):
            return False
    return True
