"""Structural schema handling (CRDs: "Field pruning", "Defaulting", "Validation")."""

from typing import Any

from hpa.sandbox import _cel, _validation

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer", "default": 3, "minimum": 1},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            },
        }
    },
}


def test_prune_drops_unknown_fields_and_reports_them() -> None:
    """Unknown fields go, except under preserve-unknown-fields and additionalProperties."""
    obj = {
        "apiVersion": "v",
        "kind": "K",
        "metadata": {"x": 1},
        "spec": {"bogus": 1, "free": {"any": 1}, "tags": {"a": "b"}},
        "other": 1,
    }
    dropped = _validation.prune(SCHEMA, obj)
    assert dropped == ["spec.bogus", "other"]
    assert obj == {
        "apiVersion": "v",
        "kind": "K",
        "metadata": {"x": 1},
        "spec": {"free": {"any": 1}, "tags": {"a": "b"}},
    }


def test_defaults_fill_missing_fields() -> None:
    """A missing property with a default gets it."""
    obj: dict[str, Any] = {"spec": {}}
    _validation.apply_defaults(SCHEMA, obj)
    assert obj == {"spec": {"size": 3}}


def test_duplicate_map_keys_are_reported() -> None:
    """A list-type map with a repeated key is a Duplicate value."""
    causes = _validation.validate(SCHEMA, {"spec": {"items": [{"name": "a"}, {"name": "a"}]}})
    assert [(c["field"], c["reason"]) for c in causes] == [("spec.items[1]", "FieldValueDuplicate")]


def test_cel_transition_rules_skip_without_old_value() -> None:
    """Rules with oldSelf run only where an old value exists."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "x": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"rule": "self == oldSelf", "message": "immutable"}
                        ],
                    }
                },
            }
        },
    }
    new = {"metadata": {"name": "n"}, "spec": {"x": "b"}}
    assert _cel.validate(schema, new, None) == []
    assert _cel.validate(schema, new, {"metadata": {"name": "n"}, "spec": {}}) == []
    causes = _cel.validate(schema, new, {"metadata": {"name": "n"}, "spec": {"x": "a"}})
    assert causes == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "string": immutable',
            "field": "spec.x",
        }
    ]


def test_cel_message_expression_and_map_list_correlation() -> None:
    """messageExpression builds the message; map-list items correlate with old items by key."""
    items = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "v": {"type": "integer"}},
        "x-kubernetes-validations": [
            {
                "rule": "self.v >= oldSelf.v",
                "messageExpression": "'v went down to ' + string(self.v)",
            }
        ],
    }
    schema = {
        "type": "object",
        "properties": {
            "l": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": items,
            }
        },
    }
    old = {"metadata": {}, "l": [{"name": "a", "v": 5}, {"name": "b", "v": 1}]}
    new = {
        "metadata": {},
        "l": [{"name": "b", "v": 2}, {"name": "a", "v": 4}, {"name": "c", "v": 0}],
    }
    causes = _cel.validate(schema, new, old)
    assert [(c["field"], c["message"]) for c in causes] == [
        ("l[1]", 'Invalid value: "object": v went down to 4')
    ]
