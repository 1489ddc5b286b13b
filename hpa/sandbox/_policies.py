"""ValidatingAdmissionPolicy: the CEL half, as kube-apiserver evaluates a policy for a binding.

Which policies and bindings apply to a request is decided in :mod:`hpa.sandbox._admission`,
next to the webhooks' matching. Here, for one policy, one binding and one request:

- ``spec.matchConditions`` must all be true, or the policy does not apply;
- ``spec.variables`` are evaluated in order, each seeing the ones before it as ``variables``;
  kube evaluates them lazily, so an error counts only for an expression that uses the variable;
- each of ``spec.validations`` must evaluate to ``true``; ``false`` fails it with its
  ``messageExpression``, ``message`` or ``failed expression: <expression>``, and its ``reason``
  (default ``Invalid``);
- an expression that errors or gives a non-bool fails under ``failurePolicy: Fail`` (the
  default) and is ignored under ``Ignore``.

CEL sees ``object`` (null on DELETE), ``oldObject`` (null on CREATE), ``request``,
``namespaceObject`` and ``params`` (always null: the sandbox has no ``paramKind``). There is no
``authorizer``, no type checking and no cost budget.
"""

import dataclasses
import re
from typing import Any

from hpa.sandbox import _cel

JSON = dict[str, Any]
_CODES = {"Unauthorized": 401, "Forbidden": 403, "Invalid": 422, "RequestEntityTooLarge": 413}


@dataclasses.dataclass(frozen=True)
class Failure:
    """A validation that did not pass: what to tell the client."""

    message: str
    reason: str

    @property
    def code(self) -> int:
        """The HTTP status kube answers with for ``reason``."""
        return _CODES.get(self.reason, 422)


def evaluate(policy: JSON, context: JSON) -> list[Failure] | None:
    """The failed validations of ``policy`` for a request, or None if it does not apply.

    Args:
        policy: the ValidatingAdmissionPolicy.
        context: ``object``, ``oldObject``, ``request``, ``namespaceObject``.
    """
    spec = policy.get("spec") or {}
    ignore = spec.get("failurePolicy") == "Ignore"
    activation = {**context, "params": None, "variables": {}}
    for condition in spec.get("matchConditions") or ():
        result = _run(condition["expression"], activation, failed_variables={})
        if result is False:
            return None
        if result is not True:
            return None if ignore else [_error(condition["expression"], result)]
    failed_variables: dict[str, str] = {}
    for variable in spec.get("variables") or ():
        value = _run(variable["expression"], activation, failed_variables=failed_variables)
        if isinstance(value, Exception):
            failed_variables[variable["name"]] = str(value)
        else:
            activation["variables"] = {**activation["variables"], variable["name"]: value}
    failures = []
    for validation in spec.get("validations") or ():
        expression = validation["expression"]
        result = _run(expression, activation, failed_variables=failed_variables)
        if result is True:
            continue
        if result is False:
            reason = validation.get("reason") or "Invalid"
            failures.append(Failure(_message(validation, activation), reason))
        elif not ignore:
            failures.append(_error(expression, result))
    return failures


def _run(expression: str, activation: JSON, *, failed_variables: dict[str, str]) -> Any:
    """The expression's value, or the exception that stands for its error (returned)."""
    for name, error in failed_variables.items():
        if re.search(rf"\bvariables\.{re.escape(name)}\b", expression):
            return RuntimeError(f"variable {name!r} failed: {error}")
    try:
        return _cel.evaluate(expression, activation)
    except Exception as error:  # the CEL engine raises its own error types
        return error


def _message(validation: JSON, activation: JSON) -> str:
    expression = validation.get("messageExpression")
    if expression:
        result = _run(expression, activation, failed_variables={})
        if isinstance(result, str) and result.strip():
            return result
    message = validation.get("message")
    return str(message) if message else f"failed expression: {validation['expression']}"


def _error(expression: str, result: Any) -> Failure:
    if isinstance(result, Exception):
        detail = f"expression '{expression}' resulted in error: {result}"
    else:
        detail = f"expression '{expression}' must evaluate to bool, got {type(result).__name__}"
    return Failure(detail, "Invalid")
