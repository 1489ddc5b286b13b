"""Quotas on claims: Kubernetes' object-count quota and hpa's per-class quota."""

import json

import yaml

from hpa import api
from tests.clusters import Cluster
from tests.integration.features.conftest import Hpa
from tests.operator_fixtures import claim, sample_class
from tests.sandbox_fixtures import Kubectl, poll_until

COUNT_KEY = "count/hostportclaims.hostport.rmb938.com"


async def _computed(kubectl: Kubectl, name: str, key: str) -> None:
    """Wait until the quota controller has counted a new quota: kube-apiserver's admission
    refuses what a quota limits ("status unknown for quota") until its status says how much is
    used, as it does for a user who applies a quota and a claim back to back."""

    async def counted() -> bool:
        got = await kubectl("get", "quota", name, "-o", "json")
        return key in json.loads(got.stdout).get("status", {}).get("used", {})

    await poll_until(counted, within=30)


def _quota(name: str, hard: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"hard": hard},
        }
    )


async def test_object_count_quota_denies_the_claim_over_it(
    cluster: Cluster, kubectl: Kubectl
) -> None:
    """A namespace at its count/hostportclaims quota is refused the next claim (403, kube's
    message naming the quota), and `status.used` follows creates and deletes."""
    await cluster.controllers_know(api.PLURAL_CLAIM)
    await kubectl("apply", "-f", "-", input=_quota("claims", {COUNT_KEY: "2"}))
    await _computed(kubectl, "claims", COUNT_KEY)
    await cluster.create(sample_class())
    for name in ("one", "two"):
        await kubectl("apply", "-f", "-", input=json.dumps(claim(name)))
    denied = await kubectl("apply", "-f", "-", input=json.dumps(claim("three")), check=False)
    assert denied.returncode != 0
    assert (
        'hostportclaims.hostport.rmb938.com "three" is forbidden: exceeded quota: claims, '
        f"requested: {COUNT_KEY}=1, used: {COUNT_KEY}=2, limited: {COUNT_KEY}=2"
    ) in denied.stderr
    described = await kubectl("describe", "quota", "claims")
    assert any(line.split() == [COUNT_KEY, "2", "2"] for line in described.stdout.splitlines())
    await kubectl("delete", api.PLURAL_CLAIM, "one")

    async def one_used() -> bool:
        got = await kubectl("get", "quota", "claims", "-o", "json")
        return json.loads(got.stdout).get("status", {}).get("used", {}).get(COUNT_KEY) == "1"

    await poll_until(one_used)
    await kubectl("apply", "-f", "-", input=json.dumps(claim("three")))


async def test_per_class_quota_denies_the_claim_over_it(
    cluster: Cluster, kubectl: Kubectl, hpa: Hpa
) -> None:
    """A claim that would exceed `<class>.hostportclass.hostport.rmb938.com/hostportclaims` is
    denied naming the quota; hpa keeps that key's used/hard in the quota's status; claims of
    other classes pass."""
    key = api.class_quota_key("sample")
    async with hpa():
        await kubectl("apply", "-f", "-", input=_quota("per-class", {key: "1", "pods": "10"}))
        await cluster.create(sample_class())
        await cluster.create(sample_class("other", (10000, 10010)))
        await kubectl("apply", "-f", "-", input=json.dumps(claim("one")))

        async def one_used() -> bool:
            got = await kubectl("get", "quota", "per-class", "-o", "json")
            status = json.loads(got.stdout).get("status", {})
            return status.get("used", {}).get(key) == "1" and status.get("hard", {}).get(key) == "1"

        await poll_until(one_used, within=10)
        denied = await kubectl("apply", "-f", "-", input=json.dumps(claim("two")), check=False)
        assert denied.returncode != 0
        assert (
            f"exceeded quota: per-class, requested: {key}=1, used: {key}=1, limited: {key}=1"
            in denied.stderr
        )
        described = await kubectl("describe", "quota", "per-class")
        assert any(line.split() == [key, "1", "1"] for line in described.stdout.splitlines())
        await kubectl("apply", "-f", "-", input=json.dumps(claim("elsewhere", class_name="other")))


async def test_per_class_quota_holds_for_a_burst(
    cluster: Cluster, kubectl: Kubectl, hpa: Hpa
) -> None:
    """Of claims applied back to back in one file, exactly the per-class limit is created and
    each of the others is denied naming the quota."""
    key = api.class_quota_key("sample")
    async with hpa():
        await kubectl("apply", "-f", "-", input=_quota("burst", {key: "2"}))
        await cluster.create(sample_class())
        burst = yaml.safe_dump_all([claim(f"c{i}") for i in range(4)])
        applied = await kubectl("apply", "-f", "-", input=burst, check=False)
        assert applied.returncode != 0
        assert applied.stderr.count("exceeded quota: burst") == 2
        got = await kubectl("get", api.PLURAL_CLAIM, "-o", "name")
        assert len(got.stdout.split()) == 2
