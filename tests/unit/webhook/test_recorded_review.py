"""The AdmissionReview that kube-apiserver really sends for the README's quickstart pod,
recorded by hack/record-admission-review (Kubernetes v1.30.14): decoded and answered."""

import json
import pathlib

from hpa import api, webhook
from tests.unit.webhook import support

RECORDED = pathlib.Path(__file__).parents[2] / "fixtures" / "admission-review-pod-create.json"


async def test_recorded_pod_create_is_decoded_and_mutated() -> None:
    """The real review decodes (managedFields, defaults and all), and the mutating webhook
    answers it with the claim's port, as it would to the API server."""
    request = webhook.decode_review(RECORDED.read_bytes())
    assert (request.operation, request.namespace, request.name) == ("CREATE", "default", "echo")
    assert request.user_info.username == "admin"
    cluster = support.managed_cluster()
    cluster.add_claim("echo-web", port=9000)
    response = await webhook.PodMutator(claims=cluster, namespaces=cluster)(request)
    assert response.allowed
    pod = json.loads(RECORDED.read_text())["request"]["object"]
    patched = support.apply_patch(pod, response)
    assert patched["spec"]["containers"][0]["ports"][0]["hostPort"] == 9000
    assert patched["metadata"]["annotations"]["port.hostport.rmb938.com/web"] == "9000"
    assert patched["metadata"]["labels"][api.POD_LABEL] == "true"
