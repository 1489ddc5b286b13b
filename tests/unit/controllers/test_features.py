"""Pure parts of issue 7's controllers: release timing and StatefulSet ordinals."""

import datetime as dt
from typing import Any

import pytest

from hpa import api
from hpa.controllers import _claim_provisioner, _claim_reconciler, _releasing


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
    assert _claim_provisioner.ordinal_of(pod, statefulset) == ordinal


def _claim(*, annotated: bool, age: float, phase: str = "") -> api.HostPortClaim:
    created = api.now() - dt.timedelta(seconds=age)
    annotations = {api.PROVISIONED_ANNOTATION: "true"} if annotated else {}
    return api.HostPortClaim(
        metadata=api.ObjectMeta(
            name="web-0-udp",
            namespace="default",
            annotations=annotations,
            creation_timestamp=created,
        ),
        spec=api.HostPortClaimSpec(host_port_class_name="sample"),
        status=api.HostPortClaimStatus(phase=phase, port=9000 if phase else 0),
    )


@pytest.mark.parametrize(
    ("claim", "waits"),
    [
        pytest.param({"annotated": True, "age": 0}, True, id="just-made-at-admission"),
        pytest.param({"annotated": True, "age": 60}, False, id="admission-gave-up"),
        pytest.param(
            {"annotated": True, "age": 0, "phase": api.PHASE_BOUND}, False, id="bound-already"
        ),
        pytest.param({"annotated": False, "age": 0}, False, id="made-by-a-user"),
    ],
)
def test_claim_controller_leaves_fresh_admission_claims_to_the_webhook(
    claim: dict[str, Any], waits: bool
) -> None:
    """A claim the webhook made and is binding is left to it for a few seconds, no longer."""
    left = _claim_reconciler._left_to_admission(_claim(**claim))
    assert (left > 0) == waits and left <= _claim_reconciler.ADMISSION_GRACE
