"""Pure parts of issue 7's controllers: release timing and StatefulSet ordinals."""

import datetime as dt

import pytest

from hpa.controllers import _releasing, _templates


def test_released_at_is_never_earlier_than_now() -> None:
    """releasedAt is rounded up to whole seconds, so the delay is never cut short."""
    before = dt.datetime.now(dt.UTC)
    released = _releasing.released_now()
    assert released.microsecond == 0
    assert released >= before.replace(microsecond=0)
    assert released - before < dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("pod", "statefulset", "ordinal"),
    [
        pytest.param("web-0", "web", 0, id="first"),
        pytest.param("web-12", "web", 12, id="two-digits"),
        pytest.param("my-web-3", "my-web", 3, id="dashed-name"),
        pytest.param("web-x", "web", None, id="not-a-number"),
        pytest.param("other-1", "web", None, id="other-statefulset"),
    ],
)
def test_ordinal_of_statefulset_pods(pod: str, statefulset: str, ordinal: int | None) -> None:
    """The ordinal is the number after ``<statefulset>-``; anything else has none."""
    assert _templates.ordinal_of(pod, statefulset) == ordinal
