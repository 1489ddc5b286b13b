"""Quotas on claims: Kubernetes' object-count quota and hpa's per-class quota."""

import json

from hpa import api, sandbox
from tests.operator_fixtures import claim, sample_class
from tests.sandbox_fixtures import Kubectl, poll_until

COUNT_KEY = "count/hostportclaims.hostport.rmb938.com"


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
    sandbox: sandbox.Sandbox, kubectl: Kubectl
) -> None:
    """A namespace at its count/hostportclaims quota is refused the next claim (403, kube's
    message naming the quota), and `status.used` follows creates and deletes."""
    await kubectl("apply", "-f", "-", input=_quota("claims", {COUNT_KEY: "2"}))
    await sandbox.create(sample_class())
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
