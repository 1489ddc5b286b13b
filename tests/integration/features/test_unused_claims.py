"""A pod's own claim, made when the pod is admitted, does not outlive a pod that was never
created: a policy after hpa's webhook refuses the pod, and the claim goes. A claim that a pod
did use stays after that pod is deleted, as its Retain default promises."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from hpa import api
from tests.clusters import Cluster
from tests.integration.features.conftest import Hpa
from tests.operator_fixtures import http_pod_spec, sample_class
from tests.sandbox_fixtures import Kubectl, poll_until

Obj = dict[str, Any]
REFUSE_LABEL = "unused-claims-test/refuse"
POLICY = "unused-claims-test"


def _pod(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": labels or {},
            "annotations": {f"{api.TEMPLATE_ANNOTATION_PREFIX}http": "sample"},
        },
        "spec": http_pod_spec(),
    }


def _refusing_policy() -> list[Obj]:
    """A policy (run after the mutating webhooks) that refuses pods with REFUSE_LABEL."""
    group = "admissionregistration.k8s.io/v1"
    policy = {
        "apiVersion": group,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "!has(object.metadata.labels) || "
                    f"!('{REFUSE_LABEL}' in object.metadata.labels)",
                    "message": "refused by the test's policy",
                }
            ],
        },
    }
    binding = {
        "apiVersion": group,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def _policy_in_force(kubectl: Kubectl) -> Callable[[], Awaitable[bool]]:
    """Whether the API server has loaded the policy (a real one takes a moment): a dry run of
    a pod it refuses (one hpa makes no claim for) is refused."""
    probe = _pod("probe", labels={REFUSE_LABEL: "yes"})
    del probe["metadata"]["annotations"]

    async def refused() -> bool:
        result = await kubectl(
            "create", "--dry-run=server", "-f", "-", input=json.dumps(probe), check=False
        )
        return result.returncode != 0 and "refused by the test's policy" in result.stderr

    return refused


async def test_a_claim_made_for_a_pod_refused_later_is_deleted(
    cluster: Cluster, kubectl: Kubectl, hpa: Hpa
) -> None:
    await kubectl("label", "namespace", "default", f"{api.NAMESPACE_LABEL}=true")
    await cluster.create(sample_class())
    for obj in _refusing_policy():
        await cluster.create(obj)
    try:
        await poll_until(_policy_in_force(kubectl), within=30, interval=0.2)
        async with hpa() as running:
            running.manager.context.unused_claim_after = 3.0

            # a pod that uses its claim: the claim stops waiting for it, and outlives it
            await kubectl("create", "-f", "-", input=json.dumps(_pod("used")))

            def used_claim() -> Obj | None:
                return cluster.get(api.PLURAL_CLAIM, "used-http", "default")

            await poll_until(
                lambda: (
                    (claim := used_claim()) is not None
                    and api.AWAITING_POD_ANNOTATION not in claim["metadata"].get("annotations", {})
                ),
                within=10,
            )
            await kubectl("delete", "pod", "used", "--wait=false")

            # a pod refused after hpa made its claim: the claim exists, then goes
            refused = _pod("refused", labels={REFUSE_LABEL: "yes"})
            result = await kubectl("create", "-f", "-", input=json.dumps(refused), check=False)
            assert result.returncode != 0 and "refused by the test's policy" in result.stderr
            claim = cluster.get(api.PLURAL_CLAIM, "refused-http", "default")
            assert claim is not None
            assert claim["metadata"]["annotations"][api.AWAITING_POD_ANNOTATION] == "refused"
            await poll_until(
                lambda: cluster.get(api.PLURAL_CLAIM, "refused-http", "default") is None,
                within=30,
                interval=0.2,
            )
            events = await kubectl(
                "get", "events", "--field-selector=involvedObject.name=refused-http", "-o", "json"
            )
            reasons = [e["reason"] for e in json.loads(events.stdout)["items"]]
            assert "NeverUsed" in reasons

            # made earlier, its pod gone meanwhile: still there, and still Bound
            kept = used_claim()
            assert kept is not None and kept["status"]["phase"] == api.PHASE_BOUND
    finally:
        for kind in ("validatingadmissionpolicybinding", "validatingadmissionpolicy"):
            await kubectl("delete", kind, POLICY, "--ignore-not-found")
