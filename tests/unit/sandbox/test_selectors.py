"""Label and field selector parsing (Labels and Selectors; Field selectors)."""

import pytest

from hpa.sandbox import ApiError, _selectors


def _obj(**labels: str) -> dict[str, object]:
    return {"metadata": {"name": "n", "labels": labels}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param("a=1", {"a": "1"}, True, id="equal"),
        pytest.param("a = 1", {"a": "1"}, True, id="spaces"),
        pytest.param("a!=1", {}, True, id="not-equal-missing"),
        pytest.param("a in (1, 2)", {"a": "2"}, True, id="in-with-spaces"),
        pytest.param("a notin (1,2)", {"a": "3"}, True, id="notin"),
        pytest.param("a,!b", {"a": "x"}, True, id="exists-and-not"),
        pytest.param("a,!b", {"a": "x", "b": "y"}, False, id="not-exists-fails"),
        pytest.param("example.com/a=x", {"example.com/a": "x"}, True, id="prefixed-key"),
    ],
)
def test_label_selector_matches(selector: str, labels: dict[str, str], expected: bool) -> None:
    """Each requirement form of the label selector grammar matches as kube's does."""
    matcher = _selectors.parse_labels(selector)
    assert matcher is not None
    assert matcher(_obj(**labels)) is expected


@pytest.mark.parametrize(
    "selector", [pytest.param("a in b", id="no-parens"), pytest.param("a in (b", id="unclosed")]
)
def test_label_selector_errors_are_400(selector: str) -> None:
    """A selector that does not parse raises a 400 ApiError."""
    with pytest.raises(ApiError) as raised:
        _selectors.parse_labels(selector)
    assert raised.value.code == 400


def test_empty_selectors_match_everything() -> None:
    """Empty selectors give no matcher at all."""
    assert _selectors.parse_labels("") is None
    assert _selectors.parse_fields(None) is None


def test_field_selector_on_nested_fields() -> None:
    """Field selectors compare dotted paths as strings."""
    matcher = _selectors.parse_fields("metadata.name=n,status.phase!=Pending")
    assert matcher is not None and matcher(_obj())


def test_selector_objects() -> None:
    """matchLabels and matchExpressions of a LabelSelector object both apply."""
    selector = {
        "matchLabels": {"a": "1"},
        "matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["x"]}],
    }
    assert _selectors.matches_selector_object(selector, {"a": "1", "b": "y"})
    assert not _selectors.matches_selector_object(selector, {"a": "1", "b": "x"})
    assert _selectors.matches_selector_object({}, {})
