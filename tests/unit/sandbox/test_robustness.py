"""What the sandbox answers to input that fuzzing through the API found it crashing on."""

import pytest

from hpa.sandbox import _builtins, _errors, _server


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(1, id="spec-not-an-object"),
        pytest.param({"containers": 1}, id="containers-not-a-list"),
        pytest.param({"containers": [1]}, id="container-not-an-object"),
        pytest.param({"containers": [{"name": "a", "image": "i", "ports": {}}]}, id="ports-object"),
        pytest.param(
            {"containers": [{"name": "a", "image": "i", "ports": [{"hostPort": "80"}]}]},
            id="host-port-a-string",
        ),
        pytest.param({"containers": [{"name": "a", "image": "i"}], "hostNetwork": 1}, id="flag"),
    ],
)
def test_undecodable_pod_is_a_bad_request(spec: object) -> None:
    """A pod whose spec has a field of the wrong JSON type is refused with 400, as the Go
    decoder of kube-apiserver refuses it, instead of crashing the defaulting."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    with pytest.raises(_errors.ApiError) as raised:
        _builtins.default_pod(pod)
    assert raised.value.code == 400
    assert "cannot be handled as a Pod" in str(raised.value.message)
    with pytest.raises(_errors.ApiError):
        _builtins.validate_pod(pod, None)


def test_well_typed_pod_is_defaulted() -> None:
    """A pod of the right shape is defaulted as before."""
    pod = {"spec": {"containers": [{"name": "a", "image": "i", "ports": [{"hostPort": 80}]}]}}
    _builtins.default_pod(pod)
    assert pod["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP"


def test_warning_with_control_characters_is_sent() -> None:
    """A warning that quotes a field name with a newline is sent with a space instead (as Go's
    net/http does) rather than making the response fail."""
    response = _server.respond({}, warnings=['unknown field "spec.a\nb"'])
    assert response.headers["Warning"] == '299 - "unknown field \\"spec.a b\\""'
