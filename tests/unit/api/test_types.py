"""Wire types decode the objects users write and encode minimal bodies."""

import datetime as dt
from typing import TypeVar

import msgspec
import pytest
import yaml

from hpa import api

T = TypeVar("T")

# The original project's README samples, verbatim.
CLASS_YAML = """
---
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClass
metadata:
  name: sample
spec:
  pools:
    - start: 9000
      end: 9500
"""

CLAIM_YAML = """
---
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClaim
metadata:
  name: echo-web
  namespace: default
spec:
  hostPortClassName: sample
"""


def _decode(text: str, type_: type[T]) -> T:
    return msgspec.convert(yaml.safe_load(text), type_)


def test_readme_class_decodes() -> None:
    """The README's HostPortClass decodes with its pool."""
    cls = _decode(CLASS_YAML, api.HostPortClass)
    assert cls.metadata.name == "sample"
    assert cls.spec.pools == (api.PortPool(start=9000, end=9500),)


def test_readme_claim_decodes() -> None:
    """The README's HostPortClaim decodes with its class and no binding yet."""
    claim = _decode(CLAIM_YAML, api.HostPortClaim)
    assert (claim.metadata.namespace, claim.metadata.name) == ("default", "echo-web")
    assert claim.spec.host_port_class_name == "sample"
    assert claim.spec.host_port_name == ""
    assert claim.status.phase == ""


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        pytest.param(CLASS_YAML, api.HostPortClass, id="class"),
        pytest.param(CLAIM_YAML, api.HostPortClaim, id="claim"),
    ],
)
def test_readme_samples_round_trip(text: str, type_: type) -> None:
    """Decoding then encoding a README sample gives back the same document."""
    original = yaml.safe_load(text)
    encoded = msgspec.json.decode(msgspec.json.encode(msgspec.convert(original, type_)))
    assert encoded == original


def test_unknown_fields_are_ignored() -> None:
    """Fields a newer server adds do not stop decoding."""
    raw = yaml.safe_load(CLAIM_YAML)
    raw["spec"]["somethingNew"] = {"x": 1}
    raw["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    claim = msgspec.convert(raw, api.HostPortClaim)
    assert claim.spec.host_port_class_name == "sample"


def test_hostport_decodes_server_object() -> None:
    """A HostPort as the API server returns it decodes, timestamps included."""
    raw = {
        "apiVersion": api.API_VERSION,
        "kind": "HostPort",
        "metadata": {
            "name": "port-9000",
            "uid": "u1",
            "resourceVersion": "42",
            "creationTimestamp": "2026-11-24T20:00:00Z",
            "finalizers": [api.FINALIZER],
        },
        "spec": {
            "hostPortClassName": "sample",
            "port": 9000,
            "claimRef": {"namespace": "default", "name": "echo-web", "uid": "c1"},
        },
        "status": {"phase": "Allocated"},
    }
    hostport = msgspec.json.decode(msgspec.json.encode(raw), type=api.HostPort)
    assert hostport.spec.claim_ref == api.ClaimRef(namespace="default", name="echo-web", uid="c1")
    assert hostport.metadata.creation_timestamp == dt.datetime(2026, 11, 24, 20, tzinfo=dt.UTC)
    assert hostport.metadata.finalizers == (api.FINALIZER,)


def test_port_out_of_range_is_rejected() -> None:
    """A pool bound outside 1..65535 does not decode."""
    raw = yaml.safe_load(CLASS_YAML)
    raw["spec"]["pools"][0]["end"] = 70000
    with pytest.raises(msgspec.ValidationError, match="<= 65535"):
        msgspec.convert(raw, api.HostPortClass)


def test_encoding_omits_defaults() -> None:
    """An encoded status holds only what was set: a minimal patch body."""
    status = api.HostPortClaimStatus(phase=api.PHASE_BOUND, port=9000)
    assert msgspec.to_builtins(status) == {"phase": "Bound", "port": 9000}


def _condition(status: str, at: int) -> api.Condition:
    return api.Condition(
        type="Bound",
        status=status,
        reason="Bound" if status == api.CONDITION_TRUE else "ClassFull",
        message="",
        last_transition_time=dt.datetime(2026, 1, 1, 0, 0, at, tzinfo=dt.UTC),
    )


def test_set_condition_keeps_transition_time_when_status_is_unchanged() -> None:
    """Re-writing a condition with the same status keeps when that status began."""
    first = _condition(api.CONDITION_FALSE, 1)
    again = msgspec.structs.replace(_condition(api.CONDITION_FALSE, 9), message="still full")
    (result,) = api.set_condition((first,), again)
    assert result.last_transition_time == first.last_transition_time
    assert result.message == "still full"


def test_set_condition_moves_transition_time_on_change() -> None:
    """A condition whose status changes takes the new transition time."""
    (result,) = api.set_condition(
        (_condition(api.CONDITION_FALSE, 1),), _condition(api.CONDITION_TRUE, 9)
    )
    assert result.status == api.CONDITION_TRUE
    assert result.last_transition_time.second == 9


def test_set_condition_keeps_other_types() -> None:
    """Setting one condition type leaves the others alone."""
    other = msgspec.structs.replace(_condition(api.CONDITION_TRUE, 1), type="Ready")
    result = api.set_condition((other,), _condition(api.CONDITION_FALSE, 2))
    assert {c.type for c in result} == {"Ready", "Bound"}
    assert api.find_condition(result, "Ready") == other
