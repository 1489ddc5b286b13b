"""The webhook configurations hpa registers."""

import base64

from hpa import api, manifests
from hpa.sandbox import _cel as cel


def test_configurations_route_to_service_paths() -> None:
    """By default the configurations call the Service at hpa's paths; the pod webhook that
    checks fails closed, the one that mutates fails open (the policy then refuses the pod)."""
    mutating, validating = manifests.webhook_configurations(ca_bundle=b"PEM")
    [mutate] = mutating["webhooks"]
    assert mutate["clientConfig"]["service"]["path"] == api.PATH_MUTATE_PODS
    assert base64.b64decode(mutate["clientConfig"]["caBundle"]) == b"PEM"
    assert mutate["failurePolicy"] == "Ignore"
    assert mutate["namespaceSelector"] == {
        "matchLabels": {api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE}
    }
    pods, resources = validating["webhooks"]
    assert pods["failurePolicy"] == "Fail"
    for hook in (mutate, pods):  # UPDATEs are the ValidatingAdmissionPolicy's
        assert [(r["resources"], r["operations"]) for r in hook["rules"]] == [
            (["pods"], ["CREATE"])
        ]
        assert [c["name"] for c in hook["matchConditions"]] == ["uses-hpa"]
    assert resources["failurePolicy"] == "Ignore"
    assert "namespaceSelector" not in resources


def test_configurations_by_url() -> None:
    """A base URL (a test API server, a local run) replaces the Service."""
    mutating, _ = manifests.webhook_configurations(url="https://127.0.0.1:9443/")
    assert mutating["webhooks"][0]["clientConfig"] == {"url": "https://127.0.0.1:9443/mutate-pods"}


def test_resource_webhook_does_not_see_hpas_own_writes() -> None:
    """hpa's ServiceAccount's writes to its resources skip its own (fail-open) webhook; every
    other user's still reach it."""
    _, validating = manifests.webhook_configurations(namespace="hpa-system", service_account="hpa")
    [condition] = validating["webhooks"][1]["matchConditions"]
    rule = cel.compile_rule(condition["expression"])
    hpa_itself = {"userInfo": {"username": "system:serviceaccount:hpa-system:hpa"}}
    assert rule.execute({"request": hpa_itself}) is False
    assert rule.execute({"request": {"userInfo": {"username": "alice"}}}) is True
