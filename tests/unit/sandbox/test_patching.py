"""Patch application (RFC 7386, RFC 6902, strategic merge patch)."""

from typing import Any

import pytest

from hpa.sandbox import ApiError, _patching


def test_merge_patch_is_recursive_and_null_deletes() -> None:
    """Merge patch merges objects, replaces lists and deletes nulls, without mutating input."""
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    result = _patching.merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3]})
    assert result == {"a": {"c": 2, "d": 3}, "l": [3]}
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "/l/-", "value": 3}], {"a": 1, "l": [1, 2, 3]}, id="append"
        ),
        pytest.param(
            [{"op": "add", "path": "/l/0", "value": 0}], {"a": 1, "l": [0, 1, 2]}, id="insert"
        ),
        pytest.param([{"op": "remove", "path": "/a"}], {"l": [1, 2]}, id="remove"),
        pytest.param(
            [{"op": "move", "from": "/a", "path": "/b"}], {"b": 1, "l": [1, 2]}, id="move"
        ),
        pytest.param(
            [{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1, "l": [1, 2]}, id="copy"
        ),
        pytest.param(
            [{"op": "add", "path": "/x~1y", "value": 1}],
            {"a": 1, "l": [1, 2], "x/y": 1},
            id="escaped",
        ),
    ],
)
def test_json_patch_operations(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    """Each RFC 6902 operation transforms the document."""
    assert _patching.json_patch({"a": 1, "l": [1, 2]}, operations) == expected


@pytest.mark.parametrize(
    "operations",
    [
        pytest.param([{"op": "test", "path": "/a", "value": 2}], id="test-fails"),
        pytest.param([{"op": "remove", "path": "/missing"}], id="remove-missing"),
        pytest.param([{"op": "replace", "path": "/missing", "value": 1}], id="replace-missing"),
    ],
)
def test_json_patch_failures_are_422(operations: list[dict[str, Any]]) -> None:
    """A patch that cannot apply raises 422."""
    with pytest.raises(ApiError) as raised:
        _patching.json_patch({"a": 1}, operations)
    assert raised.value.code == 422


def test_strategic_merge_directives() -> None:
    """Strategic merge patch merges by key and honours $patch, $retainKeys and primitive deletes."""
    target = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {
            "containers": [{"name": "x", "image": "1", "env": [{"name": "A", "value": "1"}]}],
            "strategy": {"type": "Rolling", "rolling": {"max": 1}},
        },
    }
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
        "spec": {
            "$setElementOrder/containers": [{"name": "x"}],
            "containers": [{"name": "x", "env": [{"name": "B", "value": "2"}]}],
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
        },
    }
    result = _patching.strategic_merge_patch(target, patch)
    assert result["metadata"]["finalizers"] == ["b"]
    assert result["spec"]["containers"] == [
        {
            "name": "x",
            "image": "1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        }
    ]
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_strategic_merge_replace_list() -> None:
    """A ``$patch: replace`` element replaces the whole list."""
    target = {"containers": [{"name": "a"}, {"name": "b"}]}
    patch = {"containers": [{"$patch": "replace"}, {"name": "c"}]}
    assert _patching.strategic_merge_patch(target, patch) == {"containers": [{"name": "c"}]}
