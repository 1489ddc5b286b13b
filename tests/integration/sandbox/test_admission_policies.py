"""ValidatingAdmissionPolicy (Validating Admission Policy: "Validation actions", "Matching
requests: matchConstraints", "Variable composition", "Failure policy", "Message expression"),
and hpa's own policies doing their job with no webhook running."""

from typing import Any

import pytest

from hpa import api as hpa_api
from hpa import manifests
from tests.integration.sandbox.conftest import (
    CLAIMS,
    GROUP_PATH,
    PODS,
    Api,
    claim,
    install_vap,
    pod,
    vap,
    vap_binding,
)

JSON = dict[str, Any]
MANAGED = "/api/v1/namespaces/managed/pods"


LABELLED_STRICT = "has(object.metadata.labels) && 'strict' in object.metadata.labels"
NO_LATEST = {"expression": "!object.spec.containers.exists(c, c.image.endsWith(':latest'))"}


async def test_deny_names_policy_and_binding_with_the_reasons_code(api: Api) -> None:
    """A failed validation under Deny refuses the request with kube's message and the HTTP
    code of its reason; a request that passes is stored."""
    rule = {**NO_LATEST, "message": "pin the image", "reason": "Forbidden"}
    await install_vap(api, vap("no-latest", [rule]), vap_binding("no-latest", ["Deny"]))
    latest = pod("a")
    latest["spec"]["containers"][0]["image"] = "nginx:latest"
    answer = await api.post(PODS, latest)
    assert answer.status == 403
    assert answer.body["reason"] == "Forbidden"
    denied = "ValidatingAdmissionPolicy 'no-latest' with binding 'no-latest' denied request: "
    assert answer.body["message"] == f'pods "a" is forbidden: {denied}pin the image'
    assert answer.body["details"]["causes"] == [{"message": f"{denied}pin the image"}]
    assert (await api.post(PODS, pod("b"))).status == 201


async def test_reason_defaults_to_invalid_and_message_to_the_expression(api: Api) -> None:
    """Without reason and message: 422 Invalid, ``failed expression: <expression>``."""
    await install_vap(api, vap("no-latest", [NO_LATEST]), vap_binding("no-latest", ["Deny"]))
    latest = pod("a")
    latest["spec"]["containers"][0]["image"] = "nginx:latest"
    answer = await api.post(PODS, latest)
    assert answer.status == 422
    assert answer.body["message"].endswith(f"failed expression: {NO_LATEST['expression']}")


async def test_warn_admits_with_a_warning_header(api: Api) -> None:
    """Under Warn the request is stored and the failure comes back as a Warning header."""
    rule = {**NO_LATEST, "messageExpression": "'image ' + object.spec.containers[0].image"}
    await install_vap(api, vap("no-latest", [rule]), vap_binding("no-latest", ["Warn"]))
    latest = pod("a")
    latest["spec"]["containers"][0]["image"] = "nginx:latest"
    answer = await api.post(PODS, latest)
    assert answer.status == 201
    assert "image nginx:latest" in answer.headers.get("Warning", "")
    assert "ValidatingAdmissionPolicy 'no-latest'" in answer.headers.get("Warning", "")


async def test_variables_compose_and_match_conditions_select(api: Api) -> None:
    """Variables see the ones before them; a false matchCondition skips the policy."""
    policy = vap(
        "named-ports",
        [{"expression": "variables.unnamed == 0", "message": "name every port"}],
        variables=[
            {"name": "containers", "expression": "object.spec.containers"},
            {
                "name": "unnamed",
                "expression": "variables.containers.filter(c, "
                "has(c.ports) && c.ports.exists(p, !has(p.name))).size()",
            },
        ],
        matchConditions=[{"name": "strict", "expression": LABELLED_STRICT}],
    )
    await install_vap(api, policy, vap_binding("named-ports", ["Deny"]))
    unnamed = pod("a", labels={"strict": "yes"})
    del unnamed["spec"]["containers"][0]["ports"][0]["name"]
    denied = await api.post(PODS, unnamed)
    assert denied.status == 422 and denied.body["message"].endswith(": name every port")
    unnamed["metadata"]["labels"] = {}
    assert (await api.post(PODS, unnamed)).status == 201


@pytest.mark.parametrize(("failure_policy", "status"), [("Fail", 422), ("Ignore", 201)])
async def test_an_expression_error_follows_the_failure_policy(
    api: Api, failure_policy: str, status: int
) -> None:
    """An expression that errors (here: a missing field without has()) denies under Fail and
    is skipped under Ignore."""
    rule = {"expression": "object.spec.nodeName == 'n1'"}
    policy = vap("broken", [rule], failurePolicy=failure_policy)
    await install_vap(api, policy, vap_binding("broken", ["Deny"]))
    answer = await api.post(PODS, pod("a"))
    assert answer.status == status
    if status != 201:
        assert "resulted in error" in answer.body["message"]


async def test_binding_narrows_by_namespace_and_policy_by_name(api: Api) -> None:
    """The binding's matchResources.namespaceSelector and the policy's resourceNames must both
    select the request."""
    for name, labels in (("managed", {"team": "games"}), ("other", {})):
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        namespace["metadata"]["labels"] = labels
        assert (await api.post("/api/v1/namespaces", namespace)).status == 201
    policy = vap("deny-all", [{"expression": "false"}])
    policy["spec"]["matchConstraints"]["resourceRules"][0]["resourceNames"] = ["doomed"]
    selector = {"namespaceSelector": {"matchLabels": {"team": "games"}}}
    await install_vap(api, policy, vap_binding("deny-all", ["Deny"], matchResources=selector))
    assert (await api.post(MANAGED, pod("doomed"))).status == 422
    assert (await api.post(MANAGED, pod("spared"))).status == 201
    assert (await api.post("/api/v1/namespaces/other/pods", pod("doomed"))).status == 201


async def test_hpas_policies_hold_while_hpa_is_down(api: Api) -> None:
    """With hpa's policies installed and no webhook at all, a managed namespace still refuses a
    raw hostPort, hostNetwork, a claimed pod hpa gave no port (saying that hpa is unavailable)
    and a changed claim annotation, and admits a pod whose hostPort matches its annotations;
    other namespaces are untouched."""
    plurals = {
        "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    }
    for document in manifests.install_documents():
        if document["kind"] in plurals:
            path = f"{GROUP_PATH}/{plurals[document['kind']]}"
            assert (await api.post(path, document)).status == 201
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "managed"}}
    namespace["metadata"]["labels"] = {hpa_api.NAMESPACE_LABEL: hpa_api.NAMESPACE_LABEL_VALUE}
    assert (await api.post("/api/v1/namespaces", namespace)).status == 201

    raw = pod("raw")
    raw["spec"]["containers"][0]["ports"][0]["hostPort"] = 8080
    denied = await api.post(MANAGED, raw)
    assert denied.status == 403
    assert "must come from a HostPortClaim" in denied.body["message"]
    assert (await api.post(PODS, raw)).status == 201  # not a managed namespace

    host_network = pod("host-network")
    host_network["spec"]["hostNetwork"] = True
    denied = await api.post(MANAGED, host_network)
    assert denied.status == 403 and "hostNetwork" in denied.body["message"]

    # hpa's mutating webhook fails open: a claimed pod it gave no port is refused here instead
    for key in ("claim.hostport.rmb938.com/http", "template.hostport.rmb938.com/http"):
        denied = await api.post(MANAGED, pod("unanswered", annotations={key: "web"}))
        assert "denied request: hpa is unavailable: " in denied.body["message"]
        assert denied.status == 403

    annotations = {"claim.hostport.rmb938.com/http": "web", "port.hostport.rmb938.com/http": "9000"}
    claimed = pod("claimed", annotations=annotations)
    claimed["spec"]["containers"][0]["ports"][0]["hostPort"] = 9000
    assert (await api.post(MANAGED, claimed)).status == 201
    changed = {"metadata": {"annotations": {"claim.hostport.rmb938.com/http": "other"}}}
    denied = await api.patch(f"{MANAGED}/claimed", changed)
    assert denied.status == 403 and "cannot change" in denied.body["message"]
    unrelated = {"metadata": {"annotations": {"team": "games"}}}
    assert (await api.patch(f"{MANAGED}/claimed", unrelated)).status == 200
    assert (await api.post(CLAIMS, claim("not-a-pod"))).status == 201
