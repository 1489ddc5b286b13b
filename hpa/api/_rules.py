"""``x-kubernetes-validations`` entries: the CEL rules the API server checks on hpa's kinds."""


def rule(rule: str, message: str, *, field_path: str = "", reason: str = "") -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    if reason:
        entry["reason"] = reason
    return entry


def immutable(field: str) -> dict[str, str]:
    """A transition rule that refuses any change of the field it is put on."""
    return rule("self == oldSelf", f"{field} is immutable; delete and re-create the object")
