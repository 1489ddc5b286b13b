"""Applying a plan to an in-memory API server holding the original's objects: the result, a
crash after any step, conflicts, and a step that finds the cluster changed."""

import copy
import dataclasses
import json
from typing import Any

import pytest

from hpa import api, kube, migration
from tests import kubefake
from tests.unit.migration import originals

Obj = dict[str, Any]
PORTS = {"echo-web": 9000, "voice": 9500, "idle": 9501, "wide": 10060}


class Crash(Exception):
    """Raised from the progress report: the process stops after that step."""


def cluster(*extra: str) -> tuple[kubefake.FakeApi, kube.Client]:
    fake = kubefake.FakeApi()
    originals.seed(fake, originals.installation(*extra), crds=originals.original_crds())
    return fake, kube.Client(fake)


async def migrate(client: kube.Client, report: Any = None) -> migration.Outcome:
    plan = migration.plan(await migration.read(client))
    return await migration.apply(client, plan, report=report or (lambda line: None))


def held(fake: kubefake.FakeApi) -> set[int]:
    """The ports some HostPort holds: port-<n> by its name, the original's by status.port."""
    ports = set()
    for hostport in fake.items(api.PLURAL_HOSTPORT):
        port = api.port_of_hostport_name(hostport["metadata"]["name"])
        ports.add(port if port is not None else hostport.get("status", {}).get("port", 0))
    return ports


def state(fake: kubefake.FakeApi) -> dict[str, list[Obj]]:
    """The objects, without what differs between runs (versions, times)."""

    def clean(obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        for key in ("resourceVersion", "generation", "creationTimestamp", "uid"):
            obj["metadata"].pop(key, None)
        for condition in obj.get("status", {}).get("conditions", []):
            condition.pop("lastTransitionTime", None)
            condition.pop("observedGeneration", None)
        obj.get("status", {}).pop("observedGeneration", None)
        return obj

    plurals = (api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT, "pods", originals.CRDS)
    return {p: [clean(o) for o in fake.items(p)] for p in plurals}


async def test_the_installation_is_migrated() -> None:
    fake, client = cluster()
    pods_before = {p["metadata"]["name"]: p for p in fake.items("pods")}
    progress: list[str] = []
    outcome = await migrate(client, progress.append)
    assert outcome.ok and not outcome.failed
    assert progress[0].startswith("[1/43] unbind   HostPortClaim games/never")
    assert progress[-1].endswith(": done")
    for name, port in PORTS.items():
        claim = fake.get(api.PLURAL_CLAIM, name, "games")
        assert claim is not None
        assert claim["spec"]["hostPortName"] == api.hostport_name(port)
        assert claim["metadata"]["finalizers"] == [api.FINALIZER]
        assert claim["status"]["phase"] == api.PHASE_BOUND and claim["status"]["port"] == port
        hostport = fake.get(api.PLURAL_HOSTPORT, api.hostport_name(port))
        assert hostport is not None
        assert hostport["spec"]["port"] == port
        assert hostport["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert hostport["spec"]["reclaimPolicy"] == api.RECLAIM_DELETE
        assert hostport["metadata"]["finalizers"] == [api.FINALIZER]
        assert hostport["status"]["phase"] == api.PHASE_ALLOCATED
    reserved = fake.get(api.PLURAL_HOSTPORT, "port-9502")
    assert reserved is not None and "claimRef" not in reserved["spec"]
    assert reserved["status"]["phase"] == api.PHASE_RESERVED
    names = {h["metadata"]["name"] for h in fake.items(api.PLURAL_HOSTPORT)}
    assert names == {"port-9000", "port-9500", "port-9501", "port-9502", "port-10060"}
    for name, claim in ((c["metadata"]["name"], c) for c in fake.items(api.PLURAL_CLAIM)):
        if name not in PORTS:  # never, waiting: no port; hpa binds them
            assert claim["metadata"]["finalizers"] == []
            assert claim["status"]["phase"] == api.PHASE_PENDING
            assert "hostPortName" not in claim["spec"]  # hpa's schema refuses an empty one
    for pod in fake.items("pods"):
        before = pods_before[pod["metadata"]["name"]]
        assert pod["spec"] == before["spec"]
        assert pod["metadata"]["annotations"] == before["metadata"]["annotations"]
        assert pod["metadata"]["labels"] == {api.POD_LABEL: "true"}
    overlapping = fake.get(api.PLURAL_CLASS, "overlapping")
    assert overlapping is not None
    assert overlapping["spec"]["pools"] == [{"start": 10000, "end": 10200}]
    assert all(c["metadata"]["finalizers"] == [api.FINALIZER] for c in fake.items(api.PLURAL_CLASS))
    crds = {c["metadata"]["name"]: c for c in fake.items(originals.CRDS)}
    assert all(c["spec"] == originals.hpa_crds()[n]["spec"] for n, c in crds.items())
    again = migration.plan(await migration.read(client))
    assert not again.steps and not again.conflicts


async def test_once_migrated_hpa_webhooks_are_no_conflict() -> None:
    """Run again after hpa is installed, the migration has nothing to do, and says so rather
    than asking to delete hpa's webhook configurations (found on kube-apiserver)."""
    _, client = cluster()
    await migrate(client)
    installed = dataclasses.replace(
        await migration.read(client),
        blockers=("hpa's MutatingWebhookConfiguration hpa-mutating is installed: ...",),
    )
    again = migration.plan(installed)
    assert not again.steps and not again.conflicts


def _steps() -> int:
    return len(migration.plan(originals.snapshot(*originals.installation())).steps)


@pytest.mark.parametrize("crash_after", range(1, _steps()))
async def test_a_crash_after_any_step_is_finished_by_running_again(crash_after: int) -> None:
    """Stopped after any step, a second run finishes with the very result of one run, and no
    port bound at the start is ever without a HostPort holding it."""
    reference, reference_client = cluster()
    await migrate(reference_client)
    fake, client = cluster()
    bound = held(fake) - {0, 9503}  # 9503: its claim is gone (the original was releasing it)
    seen: list[str] = []
    crash = [crash_after]

    def report(line: str) -> None:
        assert bound <= held(fake), f"a port is unheld after {line}"
        seen.append(line)
        if crash and len(seen) == crash[0]:
            raise Crash(line)

    with pytest.raises(Crash):
        await migrate(client, report)
    crash.clear()
    outcome = await migrate(client, report)
    assert outcome.ok, outcome.failed
    assert bound <= held(fake)
    assert state(fake) == state(reference)


async def test_conflicts_stop_before_the_crds_and_are_left_alone() -> None:
    fake, client = cluster("conflicts")
    untouched = ("duel-a", "duel-b", "late", "leaving", "port-9520")
    before = {
        (p, o["metadata"]["name"]): o
        for p in (api.PLURAL_CLAIM, api.PLURAL_HOSTPORT, "pods")
        for o in fake.items(p)
    }
    progress: list[str] = []
    outcome = await migrate(client, progress.append)
    assert outcome.stopped and not outcome.ok
    assert progress[-1].startswith("stopped before replacing the CRDs (3 conflict(s), 0 failed")
    after = {
        (p, o["metadata"]["name"]): o
        for p in (api.PLURAL_CLAIM, api.PLURAL_HOSTPORT, "pods")
        for o in fake.items(p)
    }
    for key, obj in before.items():
        owner = obj.get("spec", {}).get("claimRef", {}).get("name", "")
        if key[1] in untouched or owner in untouched:
            assert after[key] == obj, key
    crds = fake.items(originals.CRDS)
    assert all(c["spec"] == originals.original_crds()[c["metadata"]["name"]]["spec"] for c in crds)
    # The rest is done as far as it can be before the CRDs, and stays the original's model:
    echo = fake.get(api.PLURAL_CLAIM, "echo-web", "games")
    assert echo is not None and echo["spec"]["hostPortName"] == "port-9000"
    assert fake.get(api.PLURAL_HOSTPORT, "port-9000")["status"] == {
        "phase": "Allocated",
        "port": 9000,
    }  # type: ignore[index]


async def test_a_step_finding_another_claim_fails_its_unit_and_keeps_the_crds() -> None:
    """port-9000 appears, naming another claim, between planning and applying: creating it
    fails, the rest of that port's steps are skipped, and the CRDs are not replaced."""
    fake, client = cluster()
    plan = migration.plan(await migration.read(client))
    intruder = {
        "apiVersion": api.API_VERSION, "kind": api.KIND_HOSTPORT,
        "metadata": {"name": "port-9000"},
        "spec": {"hostPortClassName": "sample",
                 "claimRef": {"namespace": "games", "name": "other", "uid": "x"}},
    }  # fmt: skip
    fake.put(api.PLURAL_HOSTPORT, intruder)
    progress: list[str] = []
    outcome = await migration.apply(client, plan, report=progress.append)
    assert outcome.stopped
    assert len(outcome.failed) == 1 and "names claim games/other" in outcome.failed[0]
    skipped = [line for line in progress if line.endswith("(an earlier step of port 9000 failed)")]
    assert [line.split()[1] for line in skipped] == ["point", "release"]
    echo = fake.get(api.PLURAL_CLAIM, "echo-web", "games")
    old = fake.get(api.PLURAL_HOSTPORT, "hpc-c1a1a000-0000-4000-8000-000000000001")
    assert echo is not None and echo["spec"]["hostPortName"].startswith("hpc-")
    assert old is not None and old["metadata"]["finalizers"] == ["hostport.rmb938.com"]


class _StaleOnce:
    """A transport that answers the first patch of each HostPort's spec as an API server still
    serving the original's schema would: without ``spec.port``."""

    def __init__(self, fake: kubefake.FakeApi) -> None:
        self.fake = fake
        self.pruned: set[str] = set()

    async def request(self, request: kube.Request) -> kube.Response:
        response = await self.fake.request(request)
        path = request.path
        spec_patch = not path.endswith("/status") and b'"port"' in (request.body or b"")
        first = "/hostports/port-" in path and path not in self.pruned
        if request.method != "PATCH" or not spec_patch or not first:
            return response
        self.pruned.add(path)
        stored = self.fake.objects[api.PLURAL_HOSTPORT][("", path.rsplit("/", 1)[-1])]
        del stored["spec"]["port"]
        return kube.Response(status=200, body=json.dumps(stored).encode())

    def stream(self, request: kube.Request) -> Any:
        return self.fake.stream(request)


async def test_a_write_answered_with_the_old_schema_is_repeated() -> None:
    fake, _ = cluster()
    client = kube.Client(_StaleOnce(fake))  # type: ignore[arg-type]
    plan = migration.plan(await migration.read(client))
    outcome = await migration.apply(client, plan, report=lambda line: None, settle_timeout=5)
    assert outcome.ok, outcome.failed
    for port in PORTS.values():
        hostport = fake.get(api.PLURAL_HOSTPORT, api.hostport_name(port))
        assert hostport is not None and hostport["spec"]["port"] == port
