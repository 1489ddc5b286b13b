"""``hpa migrate`` on the real control plane: an installation of the Go original, moved to hpa.

The control plane is one of this module's own (tests/e2e/own_plane.py), as in test_helm: the
session's others have hpa installed, and a migration starts where only the original is. The
test installs the original's CRDs as they are (tests/fixtures/original/crds.yaml), and writes
the objects of tests/fixtures/original/installation.yaml the way the original's webhooks and
controllers write them: a claim is created, its HostPort ``hpc-<claim uid>`` named after the uid
the API server gave it, the HostPort's ``status.port`` set through the status subresource, the
claim pointed at it and marked Bound, and the pods created with the ``hostPort`` and the port
annotation the original's pod webhook gave them. Then ``hpa migrate --dry-run`` and ``hpa
migrate`` run as a user runs them, hpa is installed and run as in hack/cluster (as its
ServiceAccount, behind a stand-in for its Service), and the claims, pods and HostPorts are
checked through kubectl only. A second test adds the conflicts of conflicts.yaml: the run stops
before the CRDs, and once they are resolved as its messages say, the next run finishes. A
third applies hpa's CRDs first, and recovers as the run says, with the original's CRDs again.
"""

import contextlib
import copy
import dataclasses
import functools
import json
import pathlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.e2e import own_plane
from tests.e2e.conftest import Cluster, ensure_service_account, eventually

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "original"
NAMESPACE = "games"
#: The finalizer the original puts on every object of its kinds, and the one hpa puts.
ORIGINAL_FINALIZER = "hostport.rmb938.com"
HPA_FINALIZER = "hostport.rmb938.com/protection"
#: The ports the installation's claims hold (by claim), and the HostPort made by hand.
PORTS = {"echo-web": 9000, "voice": 9500, "idle": 9501, "wide": 10060}
RESERVED = 9502
#: Claims the original left without a port: hpa binds them once it runs.
PORTLESS = ("never", "waiting")
KINDS = "customresourcedefinitions,hostportclasses,hostportclaims,hostports,pods"


@pytest.fixture
def plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A bare control plane of the test's own (no hpa), stopped after it: each test starts
    from the original's installation (one plane at a time, a few seconds to start)."""
    directory = tmp_path_factory.mktemp("migration-control-plane")
    why = "needs a cluster without hpa, where the original's CRDs can be installed"
    with own_plane.bare_control_plane(request, directory, why=why) as cluster:
        yield cluster


def _fixture(name: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all((FIXTURES / f"{name}.yaml").read_text()) if d]


def _items(cluster: Cluster, verb: str, objects: list[Obj], *flags: str) -> list[Obj]:
    """``kubectl VERB -f -`` of ``objects``, and what the API server made of them."""
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    out = cluster.kubectl(verb, "-f", "-", "-o", "json", *flags, input=body).stdout
    found: list[Obj] = []  # one JSON document per object, one after the other
    decoder, at = json.JSONDecoder(), 0
    while out[at:].strip():
        answer, at = decoder.raw_decode(out, len(out) - len(out[at:].lstrip()))
        found += answer["items"] if answer.get("kind") == "List" else [answer]
    return found


def _as_created(obj: Obj) -> Obj:
    """A fixture object as a client sends it: no uid, generation or status of its own."""
    sent = copy.deepcopy(obj)
    for field in ("uid", "generation", "deletionTimestamp"):
        sent["metadata"].pop(field, None)
    sent.pop("status", None)
    return sent


@dataclasses.dataclass
class Original:
    """The installation as the original left it: what the checks compare with."""

    claim_uids: dict[str, str]
    pods: dict[str, Obj]


def _install_original(cluster: Cluster, *extra: str) -> Original:
    """The original's CRDs and the installation fixture (and ``extra`` fixture files), written
    as the original writes them; a claim the fixture has being deleted is deleted last."""
    cluster.kubectl("apply", "--server-side", "-f", str(FIXTURES / "crds.yaml"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "-f", str(FIXTURES / "crds.yaml")
    )
    by_kind: dict[str, list[Obj]] = {}
    for document in [d for name in ("installation", *extra) for d in _fixture(name)]:
        by_kind.setdefault(document["kind"], []).append(document)
    _items(cluster, "create", [_as_created(d) for d in by_kind["Namespace"]])
    ensure_service_account(cluster, NAMESPACE)
    _items(cluster, "create", [_as_created(d) for d in by_kind["HostPortClass"]])
    # The original's claim webhook writes the whole claim back: its hostPortName has no
    # omitempty, so an unbound claim holds an empty one.
    claims = [_as_created(d) for d in by_kind["HostPortClaim"]]
    for claim in claims:
        claim["spec"]["hostPortName"] = ""
    created = _items(cluster, "create", claims)
    uids = {  # the fixture's uid -> the API server's, by the claims' names
        d["metadata"]["uid"]: c["metadata"]["uid"]
        for d in by_kind["HostPortClaim"]
        for c in created
        if c["metadata"]["name"] == d["metadata"]["name"]
    }

    def real(text: str) -> str:
        for fixture_uid, uid in uids.items():
            text = text.replace(fixture_uid, uid)
        return text

    _allocate(cluster, by_kind["HostPort"], real)
    _bind(cluster, created, {d["metadata"]["name"]: d for d in by_kind["HostPortClaim"]}, real)
    _items(cluster, "create", [_as_created(d) for d in by_kind["Pod"]])
    pods = {p: _running(cluster, p) for p in (d["metadata"]["name"] for d in by_kind["Pod"])}
    for claim in by_kind["HostPortClaim"]:  # its finalizer holds it, as the original's did
        if "deletionTimestamp" in claim["metadata"]:
            cluster.kubectl(
                "delete", "hpc", claim["metadata"]["name"], "-n", NAMESPACE, "--wait=false"
            )
    return Original(
        claim_uids={c["metadata"]["name"]: c["metadata"]["uid"] for c in created}, pods=pods
    )


def _allocate(cluster: Cluster, fixture: list[Obj], real: Callable[[str], str]) -> None:
    """The HostPorts, named ``hpc-<claim uid>`` after the claims' real uids, then given their
    port and phase through the status subresource, as the original's controller does."""
    hostports = []
    for document in fixture:
        hostport = _as_created(document)
        hostport["metadata"]["name"] = real(hostport["metadata"]["name"])
        if "claimRef" in hostport["spec"]:
            hostport["spec"]["claimRef"]["uid"] = real(hostport["spec"]["claimRef"]["uid"])
        hostports.append(hostport)
    made = _items(cluster, "create", hostports)
    statuses = {real(d["metadata"]["name"]): d["status"] for d in fixture}
    for hostport in made:
        hostport["status"] = statuses[hostport["metadata"]["name"]]
    _items(cluster, "replace", made, "--subresource=status")


def _bind(
    cluster: Cluster, created: list[Obj], fixture: dict[str, Obj], real: Callable[[str], str]
) -> None:
    """Each claim pointed at its HostPort, then given its phase (Bound, or Pending)."""
    for claim in created:
        named = fixture[claim["metadata"]["name"]]["spec"].get("hostPortName", "")
        claim["spec"]["hostPortName"] = real(named)
    pointed = _items(cluster, "replace", created)
    for claim in pointed:
        claim["status"] = fixture[claim["metadata"]["name"]]["status"]
    _items(cluster, "replace", pointed, "--subresource=status")


def _get(cluster: Cluster, *args: str) -> Obj:
    found: Obj = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return found


def _running(cluster: Cluster, pod: str) -> Obj:
    """The pod, once the stand-in kubelet reports it Running (so that nothing else writes it)."""

    def running() -> Obj | None:
        found = _get(cluster, "pod", pod, "-n", NAMESPACE)
        return found if found.get("status", {}).get("phase") == "Running" else None

    result: Obj = eventually(running, within=60)
    return result


def _versions(cluster: Cluster) -> dict[tuple[str, str, str], str]:
    """The resourceVersion of every object of the three kinds, their CRDs and the pods."""
    listed = _get(cluster, KINDS, "--all-namespaces")["items"]
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o["metadata"][
            "resourceVersion"
        ]
        for o in listed
        if o["kind"] != "CustomResourceDefinition" or "hostport" in o["metadata"]["name"]
    }


def _migrate(cluster: Cluster, *flags: str) -> subprocess.CompletedProcess[str]:
    """``hpa migrate`` as a user runs it, with the admin's kubeconfig."""
    return subprocess.run(
        [sys.executable, "-m", "hpa", "migrate", "--kubeconfig", str(cluster.kubeconfig), *flags],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _claims(cluster: Cluster) -> dict[str, Obj]:
    return {c["metadata"]["name"]: c for c in _get(cluster, "hpc", "-n", NAMESPACE)["items"]}


def _hostports(cluster: Cluster) -> dict[str, Obj]:
    return {h["metadata"]["name"]: h for h in _get(cluster, "hostports")["items"]}


@contextlib.contextmanager
def _hpa_running(cluster: Cluster, state: pathlib.Path) -> Iterator[None]:
    """hpa installed as ``hpa manifests`` describes it, its Deployment's replicas run here as
    in hack/cluster (and test_helm): as its ServiceAccount, behind a stand-in for its Service."""
    install = own_plane.localcluster()._hpa.install
    with own_plane.service() as (portal, balancer):
        deployment = portal.call(
            functools.partial(
                install,
                kubectl=pathlib.Path(cluster.executable),
                kubeconfig=cluster.kubeconfig,
                webhook_url=f"https://127.0.0.1:{balancer.port}",
            )
        )
        kubeconfig = own_plane.service_account_kubeconfig(cluster, state / "hpa.kubeconfig")
        with own_plane.replicas(portal, balancer, deployment, kubeconfig, state):
            yield


def _plan_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def _check_dry_run(cluster: Cluster) -> None:
    """With the original's webhook configurations left, the dry run says to delete them; then
    it prints the plan, and changes nothing."""
    webhooks = str(FIXTURES / "webhooks.yaml")
    cluster.kubectl("create", "-f", webhooks)
    blocked = _migrate(cluster, "--dry-run")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    conflicts = [line for line in blocked.stdout.splitlines() if line.startswith("conflict ")]
    names = [d["metadata"]["name"] for d in _fixture("webhooks")]
    assert len(conflicts) == len(names) == 3, blocked.stdout
    for name in names:  # each named with the command that deletes it
        assert [line for line in conflicts if f"webhookconfiguration {name})" in line], name
    cluster.kubectl("delete", "-f", webhooks)

    before = _versions(cluster)
    dry = _migrate(cluster, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[:2] == [
        "hostport.rmb938.com: the original's HostPort CRD is installed",
        "plan (dry run, nothing is changed):",
    ]
    plan = _plan_lines(dry.stdout)
    for port in [*PORTS.values(), RESERVED]:
        assert any(line.startswith(f"create   HostPort port-{port}: port {port}") for line in plan)
    assert sum(line.startswith("replace  CustomResourceDefinition") for line in plan) == 3
    assert lines[-1].startswith("summary: 5 port(s) move to hpa"), dry.stdout
    assert _versions(cluster) == before, "a dry run changes nothing"


def _check_migrated(cluster: Cluster, original: Original, state: pathlib.Path) -> None:
    """hpa, started on the migrated installation, keeps every port where it was."""
    with _hpa_running(cluster, state):

        def bound() -> dict[str, Obj] | None:
            claims = _claims(cluster)
            phases = {c["status"].get("phase") for c in claims.values()}
            return claims if phases == {"Bound"} else None

        claims = eventually(bound, within=30)
        assert {n: c["metadata"]["uid"] for n, c in claims.items()} == original.claim_uids
        assert {n: claims[n]["status"]["port"] for n in PORTS} == PORTS
        assert {n: claims[n]["spec"]["hostPortName"] for n in PORTS} == {
            n: f"port-{p}" for n, p in PORTS.items()
        }
        held = {*PORTS.values(), RESERVED}
        given = {claims[n]["status"]["port"] for n in PORTLESS}
        assert len(given) == len(PORTLESS) and not given & held

        hostports = _hostports(cluster)
        assert not [n for n in hostports if not n.startswith("port-")], "old HostPorts remain"
        assert hostports[f"port-{RESERVED}"]["status"]["phase"] == "Reserved"
        for name, port in PORTS.items():
            ref = hostports[f"port-{port}"]["spec"]["claimRef"]
            assert (ref["name"], ref["uid"]) == (name, original.claim_uids[name])

        # hpa's index holds the migrated ports: a new claim of the class gets another one.
        cluster.kubectl("create", "-f", "-", input=json.dumps(_claim("fresh", "sample")))
        cluster.kubectl(
            "wait", "--for=jsonpath={.status.phase}=Bound", "hpc/fresh", "-n", NAMESPACE,
            "--timeout=30s",
        )  # fmt: skip
        fresh = _claims(cluster)["fresh"]["status"]["port"]
        assert fresh not in held | given
        # The classes count the migrated HostPorts among theirs (sample: 9000 and 9500-9600).
        ours = len([p for p in held if p < 10000]) + len(given) + 1
        counts = {"sample": (102, ours), "overlapping": (201, 1)}
        eventually(lambda: _class_counts(cluster) == counts, within=30)
        pools = _get(cluster, "hpcl", "overlapping")["spec"]["pools"]
        assert pools == [{"start": 10000, "end": 10200}], "merged, the same ports"

        # ... and its webhook gives a new pod of a migrated claim that claim's port.
        cluster.kubectl("create", "-f", "-", input=json.dumps(_pod("echo-2", "echo-web")))
        pod = _get(cluster, "pod", "echo-2", "-n", NAMESPACE)
        assert pod["spec"]["containers"][0]["ports"][0]["hostPort"] == PORTS["echo-web"]

        for name, was in original.pods.items():
            now = _get(cluster, "pod", name, "-n", NAMESPACE)
            assert now["metadata"]["uid"] == was["metadata"]["uid"]
            assert now["spec"] == was["spec"], "the pod's spec is untouched"
            assert now["metadata"]["annotations"] == was["metadata"]["annotations"]
            assert now["status"]["startTime"] == was["status"]["startTime"], "not restarted"
            assert now["metadata"]["labels"]["hostport.rmb938.com/uses-claims"] == "true"

        again = _migrate(cluster)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.splitlines() == [
            "hostport.rmb938.com: hpa's HostPort CRD is installed",
            "nothing to do: everything is migrated",
        ]


def _class_counts(cluster: Cluster) -> dict[str, tuple[int, int]]:
    """``(total, allocated)`` ports of each class, as hpa reports them in its status."""
    listed = _get(cluster, "hostportclasses")["items"]
    return {
        c["metadata"]["name"]: (c["status"].get("total"), c["status"].get("allocated"))
        for c in listed
        if "status" in c
    }


def _claim(name: str, class_name: str) -> Obj:
    return {
        "apiVersion": "hostport.rmb938.com/v1alpha1",
        "kind": "HostPortClaim",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"hostPortClassName": class_name},
    }


def _pod(name: str, claim: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "annotations": {"claim.hostport.rmb938.com/web": claim},
        },
        "spec": {
            "containers": [
                {
                    "name": "echo",
                    "image": "registry.k8s.io/echoserver:1.4",
                    "ports": [{"name": "web", "containerPort": 8080}],
                }
            ]
        },
    }


def test_migrate_moves_the_original_without_changing_a_port(
    plane: Cluster, tmp_path: pathlib.Path
) -> None:
    """The original's installation, migrated, then run by hpa: every claim keeps its port and
    uid, every pod its spec, hpa allocates around the migrated ports, and a second run is a
    no-op."""
    original = _install_original(plane)
    _check_dry_run(plane)

    done = _migrate(plane)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "migrated: start hpa now (docs/migration.md, step 4)"
    crds = _get(plane, "customresourcedefinitions")["items"]
    ours = [c for c in crds if c["spec"]["group"] == "hostport.rmb938.com"]
    assert all("x-kubernetes-validations" in json.dumps(c["spec"]) for c in ours), "hpa's CRDs"
    listed = _get(plane, "hostportclasses,hostportclaims,hostports", "--all-namespaces")["items"]
    finalizers = {
        (o["kind"], o["metadata"]["name"]): o["metadata"].get("finalizers", []) for o in listed
    }
    assert not [k for k, f in finalizers.items() if ORIGINAL_FINALIZER in f]
    assert all(HPA_FINALIZER in finalizers[("HostPortClaim", n)] for n in PORTS)

    _check_migrated(plane, original, tmp_path)


def test_conflicts_stop_before_the_crds_and_a_second_run_finishes(plane: Cluster) -> None:
    """With the conflicts of tests/fixtures/original/conflicts.yaml, the dry run and the run
    name them; the run moves the rest but leaves their objects and the original's CRDs as
    they are, so every port is still held; resolved as the messages say, a second run
    finishes the migration with each remaining claim on its port."""
    original = _install_original(plane, "conflicts")
    before = _versions(plane)
    dry = _migrate(plane, "--dry-run")
    units = ["conflict claim games/leaving", "conflict port 9510", "conflict port 9520"]
    assert [
        line.split(":")[0] for line in dry.stdout.splitlines() if line.startswith("conflict")
    ] == units
    assert dry.returncode == 1 and _versions(plane) == before

    stopped = _migrate(plane)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "stopped before replacing the CRDs" in stopped.stdout
    after = _versions(plane)
    conflicting = ("duel-a", "duel-b", "late", "leaving")
    left_alone = [
        *(("HostPortClaim", NAMESPACE, n) for n in conflicting),
        *(("HostPort", "", f"hpc-{original.claim_uids[n]}") for n in conflicting),
        ("HostPort", "", "port-9520"),
        ("Pod", NAMESPACE, "leaving"),
    ]
    assert {k: after[k] for k in left_alone} == {k: before[k] for k in left_alone}
    # The original's CRDs are still served, and every port held (by status.port) as before.
    served = {h["status"].get("port") for h in _hostports(plane).values()}
    assert {*PORTS.values(), RESERVED, 9510, 9520, 9530} <= served

    # What the conflicts say: delete the pods of a claim being deleted, keep one of two claims
    # of a port, delete the port-<n> that names another claim.
    plane.kubectl("delete", "pod", "leaving", "-n", NAMESPACE, "--timeout=60s")
    plane.kubectl("delete", "hpc", "duel-b", "-n", NAMESPACE, "--wait=false")
    plane.kubectl("delete", "hostport", "port-9520", "--wait=false")
    done = _migrate(plane)
    assert done.returncode == 0, done.stdout + done.stderr
    claims = _claims(plane)
    assert "leaving" not in claims and "duel-b" not in claims
    moved = {**PORTS, "duel-a": 9510, "late": 9520}
    assert {n: claims[n]["status"].get("port") for n in moved} == moved
    assert {n: claims[n]["spec"]["hostPortName"] for n in moved} == {
        n: f"port-{p}" for n, p in moved.items()
    }
    assert sorted(_hostports(plane)) == sorted(f"port-{p}" for p in [*moved.values(), RESERVED])


def test_hpa_crds_applied_first_are_undone_by_applying_the_original_ones_again(
    plane: Cluster, tmp_path: pathlib.Path
) -> None:
    """hpa's CRDs applied over the original's before the migration: the original's HostPorts
    can no longer be changed nor their ports read, and the run says to apply the original's
    CRDs again; once that is done, the next run migrates every port where it was."""
    original = _install_original(plane)
    rendered = subprocess.run(
        [sys.executable, "-m", "hpa", "manifests"], capture_output=True, text=True, check=True
    ).stdout
    crds = [
        d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "CustomResourceDefinition"
    ]
    hpa_crds = tmp_path / "hpa-crds.yaml"
    hpa_crds.write_text(yaml.safe_dump_all(crds))
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(hpa_crds))
    plane.kubectl("wait", "--for=condition=Established", "-f", str(hpa_crds))
    old = f"hpc-{original.claim_uids['echo-web']}"
    refused = plane.kubectl(
        "patch", "hostport", old, "--type=merge", "-p", '{"metadata":{"finalizers":null}}',
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "metadata.name must be port-" in refused.stderr

    blocked = _migrate(plane)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    conflicts = [line for line in blocked.stdout.splitlines() if line.startswith("conflict")]
    assert conflicts and all("apply the original's CRDs again" in c for c in conflicts)

    original_crds = str(FIXTURES / "crds.yaml")
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", original_crds)
    plane.kubectl("wait", "--for=condition=Established", "-f", original_crds)
    # Served again (the API server switches schemas a moment after the CRD changes).
    eventually(lambda: plane.jsonpath("hostport", old, path="{.status.port}") == "9000")
    done = _migrate(plane)
    assert done.returncode == 0, done.stdout + done.stderr
    claims = _claims(plane)
    assert {n: claims[n]["status"].get("port") for n in PORTS} == PORTS
    assert {n: c["metadata"]["uid"] for n, c in claims.items()} == original.claim_uids
