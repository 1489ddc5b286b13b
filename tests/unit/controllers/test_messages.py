"""What the operator tells users points the right way: reasons, and Events that say why."""

from hpa import api, observability
from tests import kubefake
from tests.operator_fixtures import Start, claim, sample_class
from tests.polling import eventually


def _events(cluster: kubefake.FakeApi, reason: str) -> list[str]:
    return [e["message"] for e in cluster.items("events") if e["reason"] == reason]


def _condition_reason(cluster: kubefake.FakeApi, name: str) -> str:
    conditions = (cluster.get(api.PLURAL_CLAIM, name, "default") or {}).get("status", {})
    return next((c["reason"] for c in conditions.get("conditions", []) if c["type"] == "Bound"), "")


def _failure_reasons() -> set[str]:
    metric = observability.REGISTRY.get_sample_value
    reasons = ("ClassNotFound", "ClassFull", "PortTaken", "Taken")
    return {r for r in reasons if metric("hpa_allocation_failures_total", {"reason": r})}


async def test_metric_reasons_are_the_conditions_reasons(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """hpa_allocation_failures_total counts claims by their Bound condition's own reason; a
    candidate port found taken at create is a conflict, counted apart."""
    conflicts = observability.REGISTRY.get_sample_value("hpa_allocation_conflicts_total") or 0
    cluster.fail(
        verb="create", resource=api.PLURAL_HOSTPORT, status=409, reason="AlreadyExists", times=1
    )
    cluster.put(api.PLURAL_CLASS, sample_class("one", (9000, 9001)))
    cluster.put(api.PLURAL_CLAIM, claim("first", class_name="one"))
    cluster.put(api.PLURAL_CLAIM, claim("second", class_name="one"))
    cluster.put(api.PLURAL_CLAIM, claim("third", class_name="one"))
    cluster.put(
        api.PLURAL_CLAIM,
        {**claim("static", class_name="one"), "spec": {"hostPortClassName": "one", "port": 9000}},
    )
    async with operator():
        await eventually(
            lambda: (
                "ClassFull" in {_condition_reason(cluster, n) for n in ("first", "second", "third")}
            )
        )
        await eventually(lambda: _condition_reason(cluster, "static") == "PortTaken")
    assert {"ClassFull", "PortTaken"} <= _failure_reasons()
    assert "Taken" not in _failure_reasons()
    after = observability.REGISTRY.get_sample_value("hpa_allocation_conflicts_total") or 0
    assert after == conflicts + 1


async def test_deleting_a_bound_claims_hostport_says_why_it_waits(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """A HostPort deleted while its claim exists stays Deleting, with an Event naming the claim."""
    cluster.put(api.PLURAL_CLASS, sample_class())
    cluster.put(api.PLURAL_CLAIM, claim("web"))
    async with operator():
        await eventually(lambda: _condition_reason(cluster, "web") == "Bound")
        await cluster.delete(api.PLURAL_HOSTPORT, api.hostport_name(9000))
        await eventually(lambda: _events(cluster, "ClaimExists"))
    [message] = _events(cluster, "ClaimExists")
    assert "default/web still holds this port; delete the claim" in message


async def test_hand_made_hostport_naming_a_claim_bound_elsewhere_says_so(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """A HostPort whose claimRef names a claim bound to another HostPort is released with an
    Event that says so, not that the claim was deleted and re-created."""
    cluster.put(api.PLURAL_CLASS, sample_class())
    cluster.put(api.PLURAL_CLAIM, claim("web"))
    async with operator():
        await eventually(lambda: _condition_reason(cluster, "web") == "Bound")
        uid = (cluster.get(api.PLURAL_CLAIM, "web", "default") or {})["metadata"]["uid"]
        await cluster.add(
            api.PLURAL_HOSTPORT,
            {
                "apiVersion": api.API_VERSION,
                "kind": api.KIND_HOSTPORT,
                "metadata": {"name": api.hostport_name(9100)},
                "spec": {
                    "hostPortClassName": "sample",
                    "port": 9100,
                    "claimRef": {"namespace": "default", "name": "web", "uid": uid + "-other"},
                },
            },
        )
        await eventually(lambda: _events(cluster, "Released"))
    [message] = _events(cluster, "Released")
    assert "bound to HostPort port-9000" in message and "re-created" not in message
