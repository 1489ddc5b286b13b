"""The webhook's part of issue 7: per-class claim quota and per-pod (template) claims."""

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from hpa import api, webhook
from hpa.webhook import _class_quota as class_quota
from tests.unit.webhook import support

KEY = api.class_quota_key("sample")


class FakeQuotas:
    """A QuotaReader over a dict of quotas and claim counts."""

    def __init__(self, hard: dict[str, dict[str, str]], counts: dict[str, int]) -> None:
        self.hard = hard
        self.counts = counts

    def quota_limits(self, namespace: str, key: str) -> Iterable[tuple[str, str]]:
        return [(name, hard[key]) for name, hard in sorted(self.hard.items()) if key in hard]

    def claims_of_class(self, namespace: str, class_name: str) -> int:
        return self.counts.get(class_name, 0)


def _checker(
    reader: FakeQuotas, claims: support.FakeCluster | None = None, clock: list[float] | None = None
) -> class_quota.ClassQuota:
    now = clock if clock is not None else [0.0]
    return class_quota.ClassQuota(
        reader, claims=claims or support.managed_cluster(), clock=lambda: now[0], ttl=30.0
    )


@pytest.mark.parametrize(
    ("hard", "used", "denied"),
    [
        pytest.param("2", 1, False, id="under"),
        pytest.param("2", 2, True, id="at-limit"),
        pytest.param("1k", 5, False, id="quantity-suffix"),
        pytest.param("0", 0, True, id="zero"),
    ],
)
def test_class_quota_denies_the_claim_over_it(hard: str, used: int, denied: bool) -> None:
    """A claim that would take the class's count above a quota's hard limit is denied."""
    reader = FakeQuotas({"q": {KEY: hard}}, {"sample": used})
    response = _checker(reader).check(namespace="default", class_name="sample", name="new")
    assert (response is not None) == denied
    if response is not None:
        assert response.status is not None and response.status.code == 403
        assert response.status.message == (
            f"exceeded quota: q, requested: {KEY}=1, used: {KEY}={used}, limited: {KEY}={hard}"
        )


def test_class_quota_ignores_other_classes_and_keys() -> None:
    """Quotas on another class, or kube's own keys, do not limit this class."""
    other = api.class_quota_key("other")
    reader = FakeQuotas({"q": {other: "0", "pods": "0"}}, {"sample": 9})
    assert _checker(reader).check(namespace="default", class_name="sample", name="c") is None


def test_claims_admitted_back_to_back_count_before_the_cache_shows_them() -> None:
    """Claims admitted here count until the cache has them, so a burst cannot pass the quota;
    a claim that never reaches the cache stops counting after the TTL."""
    reader = FakeQuotas({"q": {KEY: "2"}}, {"sample": 0})
    claims = support.managed_cluster()
    clock = [0.0]
    checker = _checker(reader, claims, clock)
    assert checker.check(namespace="default", class_name="sample", name="a") is None
    assert checker.check(namespace="default", class_name="sample", name="b") is None
    assert checker.check(namespace="default", class_name="sample", name="c") is not None
    claims.add_claim("a")  # the cache catches up with one of them: counted once, not twice
    reader.counts["sample"] = 1
    assert checker.check(namespace="default", class_name="sample", name="c") is not None
    clock[0] = 31.0  # "b" was refused later in the chain and never appeared
    assert checker.check(namespace="default", class_name="sample", name="c") is None


def test_dry_run_is_not_counted() -> None:
    """A dry-run create is checked but not counted."""
    reader = FakeQuotas({"q": {KEY: "1"}}, {"sample": 0})
    checker = _checker(reader)
    assert checker.check(namespace="default", class_name="sample", name="a", dry_run=True) is None
    assert checker.check(namespace="default", class_name="sample", name="a") is None


async def test_validator_checks_quota_on_create_only(cluster: support.FakeCluster) -> None:
    """ResourceValidator denies a claim CREATE over the class quota; updates pass."""
    validator = webhook.ResourceValidator(
        classes=cluster, quotas=FakeQuotas({"q": {KEY: "1"}}, {"sample": 1}), claims=cluster
    )
    claim = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLAIM,
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"hostPortClassName": "sample"},
    }
    resource = {"group": api.GROUP, "resource": api.PLURAL_CLAIM}
    created = await validator(support.make_request(claim, **resource))
    assert not created.allowed
    assert created.status is not None and "exceeded quota: q" in created.status.message
    updated = await validator(
        support.make_request(claim, **resource, operation="UPDATE", old=claim)
    )
    assert updated.allowed


class FakeProvisioner:
    """A ClaimProvisioner that binds every claim to the next port."""

    def __init__(self, cluster: support.FakeCluster) -> None:
        self.cluster = cluster
        self.calls: list[dict[str, Any]] = []
        self.next_port = 9100

    async def provision(
        self,
        *,
        namespace: str,
        name: str,
        class_name: str,
        pod_name: str,
        owners: Sequence[api.OwnerReference],
    ) -> api.HostPortClaim | str:
        self.calls.append({"name": name, "class": class_name, "owners": owners})
        self.next_port += 1
        return self.cluster.add_claim(name, namespace=namespace, port=self.next_port)


def _template_pod(name: str = "web-0") -> dict[str, Any]:
    pod = support.quickstart_pod()
    pod["metadata"]["name"] = name
    pod["metadata"]["annotations"] = {f"{api.TEMPLATE_ANNOTATION_PREFIX}web": "sample"}
    pod["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u-1"}
    ]
    return pod


async def test_template_port_gets_a_new_claim(cluster: support.FakeCluster) -> None:
    """A template port makes the pod's own claim <pod>-<port> and patches its port, the port
    annotation and the claim annotation."""
    provisioner = FakeProvisioner(cluster)
    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster, provisioner=provisioner)
    pod = _template_pod()
    response = await mutator(support.make_request(pod))
    assert response.allowed
    patched = support.apply_patch(pod, response)
    assert patched["spec"]["containers"][0]["ports"][0]["hostPort"] == 9101
    annotations = patched["metadata"]["annotations"]
    assert annotations[f"{api.CLAIM_ANNOTATION_PREFIX}web"] == "web-0-web"
    assert annotations[f"{api.PORT_ANNOTATION_PREFIX}web"] == "9101"
    assert provisioner.calls[0]["name"] == "web-0-web"
    assert provisioner.calls[0]["owners"][0].name == "web"


async def test_template_port_reuses_a_bound_claim(cluster: support.FakeCluster) -> None:
    """A pod created again finds its Bound claim in the cache and keeps its port."""
    provisioner = FakeProvisioner(cluster)
    cluster.add_claim("web-0-web", port=9333)
    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster, provisioner=provisioner)
    pod = _template_pod()
    response = await mutator(support.make_request(pod))
    assert support.apply_patch(pod, response)["spec"]["containers"][0]["ports"][0] == {
        "name": "web",
        "containerPort": 8080,
        "hostPort": 9333,
    }
    assert provisioner.calls == []


async def test_template_port_denied_with_the_provisioners_reason(
    cluster: support.FakeCluster,
) -> None:
    """When the claim cannot be bound, the pod is denied naming why."""

    class Full(FakeProvisioner):
        async def provision(self, **kwargs: Any) -> api.HostPortClaim | str:
            return "HostPortClass 'sample' has no free port"

    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster, provisioner=Full(cluster))
    response = await mutator(support.make_request(_template_pod()))
    assert not response.allowed
    assert response.status is not None and "has no free port" in response.status.message


async def test_template_port_needs_a_pod_name(cluster: support.FakeCluster) -> None:
    """A pod without a name (generateName only) cannot name its claim and is denied."""
    mutator = webhook.PodMutator(
        claims=cluster, namespaces=cluster, provisioner=FakeProvisioner(cluster)
    )
    pod = _template_pod(name="")
    pod["metadata"]["generateName"] = "web-"
    response = await mutator(support.make_request(pod, name=""))
    assert not response.allowed
    assert response.status is not None and "metadata.name" in response.status.message


async def test_static_port_outside_the_pools_is_warned(cluster: support.FakeCluster) -> None:
    """A claim whose spec.port lies outside its class's pools is allowed with a warning."""
    cluster.add_class("sample", (9000, 9010))
    validator = webhook.ResourceValidator(classes=cluster)
    claim = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLAIM,
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"hostPortClassName": "sample", "port": 12000},
    }
    request = support.make_request(claim, group=api.GROUP, resource=api.PLURAL_CLAIM)
    response = await validator(request)
    assert response.allowed
    assert response.warnings == (
        "spec.port: 12000 is not in the pools of HostPortClass 'sample' (9000-9010); the claim "
        "stays Pending until the pools include it",
    )
    claim["spec"]["port"] = 9005
    inside = await validator(
        support.make_request(claim, group=api.GROUP, resource=api.PLURAL_CLAIM)
    )
    assert inside.allowed and not inside.warnings


async def test_dry_run_makes_no_claim(cluster: support.FakeCluster) -> None:
    """On a dry run (sideEffects NoneOnDryRun) no claim is made or bound: the pod is allowed
    with a warning naming the claim the real request makes, and no host port; a claim that
    is already Bound still gives its port."""
    provisioner = FakeProvisioner(cluster)
    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster, provisioner=provisioner)
    pod = _template_pod()
    response = await mutator(support.make_request(pod, dry_run=True))
    assert response.allowed and provisioner.calls == []
    assert support.apply_patch(pod, response) == pod
    [warning] = response.warnings
    assert warning.startswith("dry run: HostPortClaim default/web-0-web is made and bound")
    cluster.add_claim("web-0-web", port=9333)
    response = await mutator(support.make_request(pod, dry_run=True))
    assert (
        support.apply_patch(pod, response)["spec"]["containers"][0]["ports"][0]["hostPort"] == 9333
    )
    assert provisioner.calls == []
