"""``x-kubernetes-validations``: CEL rules of CRD schemas, evaluated like kube-apiserver does.

The CEL engine is ``common-expression-language`` (module ``cel``, bindings of the Rust
``cel-interpreter``): it evaluates every rule of hpa's CRDs correctly (``has()`` on maps,
``exists_one`` nested in ``all``, ``string(int)``, deep equality of objects) and runs them in
microseconds, where ``cel-python`` takes milliseconds for the nested macro. Programs are
compiled once per rule text.

Semantics kept from "Validation rules" in the CRD documentation:

- a rule runs where its schema node has a value, with ``self`` bound to that value; at the
  root, ``self.metadata`` holds only ``name`` and ``generateName``;
- a transition rule (one that mentions ``oldSelf``) runs only on update and only where the old
  object has a correlatable value at the same place: object properties correlate by name,
  ``x-kubernetes-list-type: map`` items by their keys; atomic lists do not correlate;
- a failure is a ``FieldValueInvalid`` cause at ``path + fieldPath`` with the message (or the
  evaluated ``messageExpression``), ``Invalid value: "<type>": <message>``.
"""

import functools
import re
from typing import Any

import cel

from hpa.sandbox import _errors, _validation

JSON = dict[str, Any]
_OLD_SELF = re.compile(r"\boldSelf\b")
_REASONS = {
    "FieldValueForbidden": "Forbidden",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
}


@functools.lru_cache(maxsize=1024)
def compile_rule(rule: str) -> Any:
    """The compiled program of a rule (cached by text)."""
    return cel.compile(rule)


def _substring(text: str, start: int, end: int | None = None) -> str:
    """Kubernetes' CEL strings library ``substring``: code points, and an error out of range."""
    stop = len(text) if end is None else end
    if not 0 <= start <= stop <= len(text):
        raise ValueError(f"substring({start}, {stop}) out of range for a string of {len(text)}")
    return text[start:stop]


#: What kube-apiserver's CEL environment adds to the standard definitions, as far as hpa's rules
#: use it (docs/control-plane.md lists where the sandbox differs).
_KUBERNETES_FUNCTIONS = {"substring": _substring}


def evaluate(rule: str, variables: JSON) -> Any:
    """The rule's value with ``variables`` bound, in kube-apiserver's CEL environment."""
    context = cel.Context(variables=variables, functions=_KUBERNETES_FUNCTIONS)
    return compile_rule(rule).execute(context)


def _message(validation: JSON, variables: JSON) -> str:
    expression = validation.get("messageExpression")
    if expression:
        try:
            result = evaluate(expression, variables)
            if isinstance(result, str) and result.strip():
                return result
        except Exception:
            pass
    message = validation.get("message")
    return str(message) if message else f"failed rule: {validation['rule']}"


def _failure(validation: JSON, path: str, value: Any, variables: JSON) -> JSON:
    field = path + (validation.get("fieldPath") or "")
    field = field.lstrip(".")
    message = _message(validation, variables)
    reason = validation.get("reason") or "FieldValueInvalid"
    if reason in _REASONS:
        text = f"{_REASONS[reason]}: {message}"
    else:
        text = f"Invalid value: {_validation.render(_validation.type_name(value))}: {message}"
    return _errors.field_cause(field, text, reason=reason)


def _rules_at(schema: JSON, value: Any, old: Any, path: str, *, root: bool) -> list[JSON]:
    causes: list[JSON] = []
    for validation in schema.get("x-kubernetes-validations") or ():
        rule = validation["rule"]
        transition = bool(_OLD_SELF.search(rule))
        if transition and old is _MISSING:
            continue
        bound = value
        if root and isinstance(value, dict):
            meta = value.get("metadata") or {}
            bound = {
                **value,
                "metadata": {k: meta[k] for k in ("name", "generateName") if k in meta},
            }
        variables: JSON = {"self": bound}
        if transition:
            variables["oldSelf"] = old
        try:
            ok = evaluate(rule, variables)
        except Exception as error:
            causes.append(
                _errors.field_cause(
                    path,
                    f"Invalid value: {_validation.render(_validation.type_name(value))}: "
                    f"rule evaluation error: {error}",
                )
            )
            continue
        if ok is not True:
            causes.append(_failure(validation, path, value, variables))
    return causes


class _Missing:
    pass


_MISSING: Any = _Missing()


def _children(schema: JSON, value: Any, old: Any, path: str) -> list[JSON]:
    causes: list[JSON] = []
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is not None:
                causes.extend(
                    _walk(sub, item, old_map.get(key, _MISSING), _validation.child(path, key))
                )
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        keys = schema.get("x-kubernetes-list-map-keys")
        old_items: dict[str, Any] = {}
        if schema.get("x-kubernetes-list-type") == "map" and keys and isinstance(old, list):
            old_items = {repr([o.get(k) for k in keys]): o for o in old if isinstance(o, dict)}
        for index, item in enumerate(value):
            previous = _MISSING
            if old_items and isinstance(item, dict):
                previous = old_items.get(repr([item.get(k) for k in keys or ()]), _MISSING)
            causes.extend(_walk(items, item, previous, f"{path}[{index}]"))
    return causes


def _walk(schema: JSON, value: Any, old: Any, path: str, *, root: bool = False) -> list[JSON]:
    return _rules_at(schema, value, old, path, root=root) + _children(schema, value, old, path)


def validate(schema: JSON, obj: JSON, old: JSON | None) -> list[JSON]:
    """The failed rules of ``obj`` (``old`` is the stored object on update, else ``None``)."""
    return _walk(schema, obj, _MISSING if old is None else old, "", root=True)


def has_rules(schema: JSON) -> bool:
    """Whether any schema node carries ``x-kubernetes-validations``."""
    if schema.get("x-kubernetes-validations"):
        return True
    subs = list((schema.get("properties") or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            subs.append(schema[key])
    return any(has_rules(sub) for sub in subs)
