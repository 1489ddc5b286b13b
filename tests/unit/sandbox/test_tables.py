"""Server-side printing helpers (API concepts: "Receiving resources as Tables")."""

import datetime

import pytest

from hpa.sandbox import _tables


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(5, "5s", id="seconds"),
        pytest.param(150, "2m30s", id="minutes-seconds"),
        pytest.param(3600, "60m", id="minutes"),
        pytest.param(5 * 3600 + 60, "5h1m", id="hours-minutes"),
        pytest.param(30 * 3600, "30h", id="hours"),
        pytest.param(3 * 86400 + 3600, "3d1h", id="days-hours"),
        pytest.param(20 * 86400, "20d", id="days"),
    ],
)
def test_age_is_rendered_like_kubectl(seconds: int, expected: str) -> None:
    """Ages use kubectl's short human duration."""
    now = datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC)
    then = (now - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _tables.age(then, now) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(".spec.port", 80, id="field"),
        pytest.param(".spec.pools[0].start", 1, id="index"),
        pytest.param(".spec.pools[*].start", "1,5", id="wildcard"),
        pytest.param(".spec.missing", None, id="missing"),
    ],
)
def test_printer_column_jsonpath(path: str, expected: object) -> None:
    """The simple JSONPath of printer columns selects fields, indexes and wildcards."""
    obj = {"spec": {"port": 80, "pools": [{"start": 1}, {"start": 5}]}}
    assert _tables.jsonpath(obj, path) == expected
