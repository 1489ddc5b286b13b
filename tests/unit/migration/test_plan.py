"""The planner on objects shaped as the Go original writes them (tests/fixtures/original)."""

import copy
from collections.abc import Iterable

import pytest

from hpa import api, migration
from hpa.migration import _steps as st
from tests.unit.migration import originals

ECHO_UID = "c1a1a000-0000-4000-8000-000000000001"
OLD_ECHO = f"hpc-{ECHO_UID}"


def plan_of(*objects: originals.Obj, **options: object) -> migration.Plan:
    return migration.plan(originals.snapshot(*objects, **options))  # type: ignore[arg-type]


def lines(steps: Iterable[st.Step]) -> list[str]:
    return [step.line() for step in steps]


def test_each_port_moves_in_the_order_that_keeps_it_held() -> None:
    """Per bound port: port-<n> is created, the claim pointed at it and the original's
    finalizer dropped before the CRDs are replaced; after them, port-<n> is completed, the
    claim bound and only then the old HostPort deleted."""
    plan = plan_of(*originals.installation())
    assert not plan.conflicts
    for port, claim in [(9000, "echo-web"), (9500, "voice"), (9501, "idle"), (10060, "wide")]:
        unit = [s for s in plan.steps if s.unit == f"port {port}"]
        assert [type(s) for s in unit] == [
            st.CreateHostPort, st.PointClaim, st.DropFinalizer, st.CompleteHostPort,
            st.SettleClaim, st.DeleteHostPort,
        ]  # fmt: skip
        assert [s.phase for s in unit] == ["before"] * 3 + ["after"] * 3
        create, point = unit[0], unit[1]
        assert isinstance(create, st.CreateHostPort) and isinstance(point, st.PointClaim)
        assert create.claim is not None and create.claim.name == claim
        assert point.new == api.hostport_name(port) and point.old.startswith("hpc-")
    phases = [s.phase for s in plan.steps]
    assert phases == sorted(phases, key=["before", "crds", "after"].index)
    assert [s.line() for s in plan.phase("crds")] == [
        f"replace  CustomResourceDefinition {name}.{api.GROUP} with hpa's"
        for name in (api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT)
    ]


def test_the_plan_of_the_installation() -> None:
    """One line per step; the summary counts them."""
    plan = plan_of(*originals.installation())
    text = lines(plan.steps)
    assert (
        f"create   HostPort port-9000: port 9000 of class sample, for claim games/echo-web "
        f"(uid {ECHO_UID})"
    ) in text
    assert (
        f"point    HostPortClaim games/echo-web: spec.hostPortName {OLD_ECHO} -> port-9000" in text
    )
    assert (
        f"release  HostPort {OLD_ECHO}: remove the original's finalizer hostport.rmb938.com" in text
    )
    assert (
        "complete HostPort port-9000: spec.port 9000, reclaimPolicy Delete, finalizer "
        "hostport.rmb938.com/protection, phase Allocated"
    ) in text
    assert (
        "bind     HostPortClaim games/echo-web: phase Bound, port 9000, finalizer "
        "hostport.rmb938.com/protection"
    ) in text
    assert f"delete   HostPort {OLD_ECHO}: replaced by port-9000" in text
    assert "label    Pod games/echo: hostport.rmb938.com/uses-claims=true" in text
    assert "label    Pod games/sip: hostport.rmb938.com/uses-claims=true" in text
    assert plan.summary() == (
        "summary: 5 port(s) move to hpa, 6 claim(s) settled, 2 pod(s) labelled, "
        "3 CRD(s) replaced, 7 old HostPort(s) deleted; 43 step(s), 0 conflict(s)"
    )


def test_a_reserved_hostport_moves_without_a_claim() -> None:
    plan = plan_of(*originals.installation())
    unit = lines(s for s in plan.steps if s.unit == "port 9502")
    assert unit == [
        "create   HostPort port-9502: port 9502 of class sample, for no claim",
        "release  HostPort reserved: remove the original's finalizer hostport.rmb938.com",
        "complete HostPort port-9502: spec.port 9502, finalizer hostport.rmb938.com/protection, "
        "phase Reserved",
        "delete   HostPort reserved: replaced by port-9502",
    ]


def test_what_holds_no_port_is_released() -> None:
    """A HostPort that never got a port is released and its claim unbound (hpa binds it
    afresh); a HostPort whose claim is gone is released, as the original would have."""
    text = lines(plan_of(*originals.installation()).steps)
    never = "hpc-c1a1a000-0000-4000-8000-000000000005"
    gone = "hpc-c1a1a000-0000-4000-8000-000000000007"
    assert (
        f"unbind   HostPortClaim games/never: spec.hostPortName {never} cleared (it never got a "
        "port); hpa gives it one"
    ) in text
    assert f"delete   HostPort {never}: it never got a port" in text
    assert f"delete   HostPort {gone}: its claim is gone" in text
    assert not any("port-9503" in line for line in text)
    assert (
        "settle   HostPortClaim games/waiting: no port yet, the original's finalizer removed "
        "(hpa binds it)"
    ) in text


def test_the_empty_hostportname_of_an_unbound_claim_goes_before_the_crds() -> None:
    """The original writes ``hostPortName: ""`` on every claim it has not bound; hpa's CRD
    refuses it and does not let it be removed (found on kube-apiserver: hpa could not decode
    the claim, nor bind it). It is removed while the original's CRD is installed."""
    plan = plan_of(*originals.installation())
    (unbind,) = [s for s in plan.steps if s.unit == "claim games/waiting" and s.phase == "before"]
    assert unbind.line() == (
        "unbind   HostPortClaim games/waiting: the empty spec.hostPortName the original wrote "
        "removed (hpa's schema refuses it); hpa gives it a port"
    )
    pruned = [_pruned(o) for o in _after_before_phase(originals.installation(), plan)]
    waiting = originals.by_name(pruned, api.KIND_CLAIM, "waiting")
    assert "hostPortName" not in waiting["spec"]
    assert not plan_of(*pruned, crds=originals.hpa_crds()).conflicts


def test_an_empty_hostportname_under_hpa_crds_is_a_conflict_with_the_way_out() -> None:
    waiting = originals.by_name(originals.installation(), api.KIND_CLAIM, "waiting")
    plan = plan_of(waiting, crds=originals.hpa_crds())
    assert [c.unit for c in plan.conflicts] == ["claim games/waiting"]
    assert "apply the original's CRDs again" in plan.conflicts[0].message
    assert not [s for s in plan.steps if s.unit == "claim games/waiting"]


def test_overlapping_pools_are_merged_into_the_same_ports() -> None:
    text = lines(plan_of(*originals.installation()).steps)
    assert (
        "adopt    HostPortClass overlapping: finalizer hostport.rmb938.com/protection, pools "
        "10050-10200,10000-10100 -> 10000-10200 (the same ports, without overlaps)"
    ) in text
    assert "adopt    HostPortClass sample: finalizer hostport.rmb938.com/protection" in text


def test_conflicts_leave_their_objects_alone() -> None:
    """Two HostPorts of one port, a port-<n> naming another claim, a deleting claim a pod still
    uses: conflicts, and no step touches their claims, HostPorts or pods."""
    plan = plan_of(*originals.installation("conflicts"))
    assert [c.unit for c in plan.conflicts] == ["claim games/leaving", "port 9510", "port 9520"]
    assert "2 of the original's HostPorts hold it" in plan.conflicts[1].message
    assert (
        "HostPort port-9520 exists and names claim games/someone-else" in plan.conflicts[2].message
    )
    untouched = ("duel-a", "duel-b", "late", "leaving", "port-9520", "0000000a", "0000000b",
                 "0000000c", "0000000d")  # fmt: skip
    assert not [line for line in lines(plan.steps) if any(name in line for name in untouched)]
    # The rest is planned as without them: it runs, but the CRDs stay (see test_apply).
    assert len(plan.steps) == len(plan_of(*originals.installation()).steps)


def test_a_deleted_port_hostport_held_only_by_the_original_finalizer_is_released() -> None:
    """Deleting port-9520 (as its conflict says) leaves it held by the original's finalizer,
    which no controller removes any more (found on kube-apiserver): the next plan removes it,
    as the original would for a HostPort whose claim is gone, and moves late to port 9520."""
    objects = originals.installation("conflicts")
    stale = originals.by_name(objects, api.KIND_HOSTPORT, "port-9520")
    stale["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    plan = plan_of(*objects)
    assert [c.unit for c in plan.conflicts] == ["claim games/leaving", "port 9510"]
    text = lines(plan.steps)
    release = "release  HostPort port-9520: remove the original's finalizer hostport.rmb938.com"
    create = "create   HostPort port-9520: port 9520 of class sample, for claim games/late"
    assert text.index(release) < next(i for i, t in enumerate(text) if t.startswith(create))


def test_an_allocated_hostport_served_without_its_port_is_a_conflict() -> None:
    """Right after the original's CRDs are applied again, the API server may still serve hpa's
    schema for a moment and prune status.port: such a HostPort is not taken for one that
    never got a port (its claim would be unbound), but left alone until the next run."""
    objects = originals.installation()
    pruned = [_pruned(o) if o["metadata"]["name"] == OLD_ECHO else o for o in objects]
    plan = plan_of(*pruned)
    assert [c.unit for c in plan.conflicts] == [f"HostPort {OLD_ECHO}"]
    assert not [line for line in lines(plan.steps) if "echo-web" in line or OLD_ECHO in line]


def test_a_plan_after_the_first_phase_has_only_the_rest() -> None:
    """Planned again once the before phase is done (claims point at port-<n>, old HostPorts
    without the original's finalizer, pods labelled), the plan is the CRDs and what follows."""
    objects = originals.installation()
    first = plan_of(*objects)
    migrated = _after_before_phase(objects, first)
    again = plan_of(*migrated)
    assert not again.conflicts
    assert {s.phase for s in again.steps} == {"crds", "after"}
    assert sorted(lines(again.phase("after"))) == sorted(lines(first.phase("after")))


def test_once_hpa_crds_are_installed_the_rest_still_completes() -> None:
    """After a crash right after the CRDs were replaced: the original's status.port is no longer
    served, but every claim already names port-<n>, so the plan completes them."""
    objects = _after_before_phase(originals.installation(), plan_of(*originals.installation()))
    pruned = [_pruned(o) for o in objects]
    plan = plan_of(*pruned, crds=originals.hpa_crds())
    assert not plan.conflicts
    assert {s.phase for s in plan.steps} == {"after"}
    assert f"delete   HostPort {OLD_ECHO}: left over from an earlier run of hpa migrate" in lines(
        plan.steps
    )
    assert "bind     HostPortClaim games/echo-web: phase Bound, port 9000, finalizer " + (
        "hostport.rmb938.com/protection"
    ) in lines(plan.steps)


def test_hpa_crds_installed_before_migrate_is_a_conflict_with_the_way_out() -> None:
    """hpa's CRDs applied first: the ports cannot be read nor the old HostPorts changed; every
    such HostPort is a conflict saying to apply the original's CRDs again."""
    pruned = [_pruned(o) for o in originals.installation()]
    plan = plan_of(*pruned, crds=originals.hpa_crds())
    assert plan.conflicts
    assert all("apply the original's CRDs again" in c.message for c in plan.conflicts)
    assert not [s for s in plan.steps if isinstance(s, st.CompleteHostPort | st.DeleteHostPort)]


def test_blocking_webhooks_and_hpa_policies_are_conflicts() -> None:
    plan = plan_of(
        *originals.installation(),
        blockers=("MutatingWebhookConfiguration x intercepts ...",),
        hpa_policies=("hostport.rmb938.com-pods",),
    )
    assert [c.unit for c in plan.conflicts] == ["install", "install"]
    assert "refuses adding hpa's label to running pods" in plan.conflicts[1].message


@pytest.mark.parametrize("pools", [[], [{"start": 2, "end": 1}]])
def test_a_class_without_a_pool_hpa_takes_is_a_conflict(pools: list[originals.Obj]) -> None:
    cls = copy.deepcopy(originals.by_name(originals.installation(), api.KIND_CLASS, "sample"))
    cls["spec"]["pools"] = pools
    plan = plan_of(cls)
    assert [c.unit for c in plan.conflicts] == ["class sample"]


def test_a_claim_naming_a_hostport_that_is_not_its_own_is_a_conflict() -> None:
    objects = originals.installation()
    stray = copy.deepcopy(originals.by_name(objects, api.KIND_CLAIM, "idle"))
    stray["metadata"].update(name="stray", uid="c1a1a000-0000-4000-8000-0000000000aa")
    plan = plan_of(*objects, stray)
    assert [c.unit for c in plan.conflicts] == ["claim games/stray"]
    assert "whose claimRef is claim games/idle" in plan.conflicts[0].message


def _after_before_phase(objects: list[originals.Obj], plan: migration.Plan) -> list[originals.Obj]:
    """``objects`` as the before phase of ``plan`` leaves them (in the original's schema)."""
    result = {_where(o["kind"], o["metadata"]): copy.deepcopy(o) for o in objects}
    for step in plan.phase("before"):
        if isinstance(step, st.CreateHostPort):
            name = api.hostport_name(step.port)
            spec: originals.Obj = {"hostPortClassName": step.class_name}
            if step.claim is not None:
                ref = step.claim
                spec["claimRef"] = {"namespace": ref.namespace, "name": ref.name, "uid": ref.uid}
            result[(api.KIND_HOSTPORT, "", name)] = {
                "kind": api.KIND_HOSTPORT,
                "metadata": {"name": name, "uid": f"new-{step.port}", "finalizers": []},
                "spec": spec,
                "status": {"phase": "Allocated", "port": step.port},
            }
        elif isinstance(step, st.PointClaim | st.UnbindClaim):
            claim = result[(api.KIND_CLAIM, step.claim.namespace, step.claim.name)]
            if isinstance(step, st.PointClaim):
                claim["spec"]["hostPortName"] = step.new
            else:  # a merge patch with null removes the field
                claim["spec"].pop("hostPortName", None)
        elif isinstance(step, st.DropFinalizer):
            result[(step.kind, step.namespace, step.name)]["metadata"]["finalizers"] = []
        elif isinstance(step, st.DeleteHostPort):
            del result[(api.KIND_HOSTPORT, "", step.name)]
        elif isinstance(step, st.LabelPod):
            result[("Pod", step.namespace, step.name)]["metadata"]["labels"] = {
                api.POD_LABEL: "true"
            }
    return list(result.values())


def _where(kind: str, meta: originals.Obj) -> tuple[str, str, str]:
    return (kind, meta.get("namespace", ""), meta["name"])


def _pruned(obj: originals.Obj) -> originals.Obj:
    """An original HostPort as hpa's CRD serves it: without status.port."""
    obj = copy.deepcopy(obj)
    if obj["kind"] == api.KIND_HOSTPORT:
        obj.get("status", {}).pop("port", None)
    return obj
