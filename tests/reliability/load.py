"""Load and soak against the operator running as a child process (its own RSS, its own loop).

:func:`load`: claims created as fast as the API server accepts them while pods are admitted
through the webhook at a steady rate; :func:`soak`: claims created, bound and deleted in cycles.
Both raise ``AssertionError`` on a duplicate port, a leak, a lost claim or a crash, and return
their figures. ``tests/reliability/test_load.py`` runs them small, against the cluster of
``--api-server``; ``bench/reliability.py`` big, against a sandbox.
"""

import itertools
import pathlib
import time
from collections.abc import Callable
from typing import Any

import anyio

from hpa import api, sandbox
from tests.clusters import Cluster
from tests.reliability import harness

NAMESPACE = "apps"


async def _create_claims(
    http: harness.Api, *, count: int, creators: int, prefix: str, class_name: str,
    created: dict[str, float],
) -> list[tuple[str, int]]:  # fmt: skip
    """Create ``count`` claims with ``creators`` concurrent clients; returns the failures."""
    failures: list[tuple[str, int]] = []
    numbers = iter(range(count))

    async def creator() -> None:
        for number in numbers:
            name = f"{prefix}{number}"
            created[f"{NAMESPACE}/{name}"] = time.perf_counter()
            body = harness.claim(name, namespace=NAMESPACE, class_name=class_name)
            status, _ = await http.call("POST", harness.claims_path(NAMESPACE), body)
            if status != 201:
                failures.append((name, status))

    async with anyio.create_task_group() as group:
        for _ in range(creators):
            group.start_soon(creator)
    return failures


class _PodAdmitter:
    """Creates pods at a steady rate, each using a bound claim (a newly bound one first, else
    one of those already used: nothing stops two pods naming one claim), and checks that each
    comes back with the claim's port."""

    def __init__(self, http: harness.Api, log: harness.BindingLog, rate: float) -> None:
        self.http = http
        self.log = log
        self.rate = rate
        self.latencies: list[float] = []
        self.failures: list[tuple[str, int, Any]] = []
        self.used: list[tuple[str, int]] = []
        self.started = self.finished = 0.0

    async def run(self, done: anyio.Event) -> None:
        self.started = time.perf_counter()
        next_at = self.started
        async with anyio.create_task_group() as group:
            for number in itertools.count():
                if done.is_set():
                    break
                if self.log.newly_bound:
                    key, port = self.log.newly_bound.popleft()
                    self.used.append((key.split("/")[1], port))
                if self.used:
                    claim_name, port = self.used[-1 - number % len(self.used)]
                    group.start_soon(self._admit, f"pod-{number}", claim_name, port)
                next_at += 1 / self.rate
                await anyio.sleep(max(0.0, next_at - time.perf_counter()))
        self.finished = time.perf_counter()

    async def _admit(self, name: str, claim_name: str, port: int) -> None:
        body = harness.pod(name, namespace=NAMESPACE, claim_name=claim_name)
        started = time.perf_counter()
        status, answer = await self.http.call("POST", harness.pods_path(NAMESPACE), body)
        self.latencies.append(time.perf_counter() - started)
        try:
            given = answer["spec"]["containers"][0]["ports"][0]["hostPort"]
            annotation = answer["metadata"]["annotations"][f"{api.PORT_ANNOTATION_PREFIX}web"]
        except (KeyError, IndexError, TypeError):
            given = annotation = None
        if status != 201 or given != port or annotation != str(port):
            self.failures.append((claim_name, status, answer))


async def load(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *, claims: int,
    pods_per_second: float, creators: int = 16, workers: int = 8, within: float = 120,
) -> dict[str, Any]:  # fmt: skip
    """Create ``claims`` claims while admitting pods; returns the figures."""
    async with harness.driven(target, workdir) as cluster:
        return await _load(
            cluster, workdir, claims=claims, pods_per_second=pods_per_second,
            creators=creators, workers=workers, within=within,
        )  # fmt: skip


async def _load(
    cluster: Cluster, workdir: pathlib.Path, *, claims: int, pods_per_second: float,
    creators: int, workers: int, within: float,
) -> dict[str, Any]:  # fmt: skip
    await harness.install_hpa(cluster, pod_namespace=NAMESPACE)
    await cluster.create(harness.host_port_class("load", 20000, 20000 + claims * 2))
    log = await harness.BindingLog.watching(cluster)
    operator = harness.OperatorProcess(
        kubeconfig=cluster.direct_kubeconfig, log=workdir / "operator.log",
        leader_elect=False, workers=workers,
    )  # fmt: skip
    async with operator.running(), harness.Api(cluster, connections=creators + 16) as http:
        await cluster.route_webhook(operator.webhook_port)
        created: dict[str, float] = {}
        all_bound = anyio.Event()
        admitter = _PodAdmitter(http, log, pods_per_second)
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            group.start_soon(admitter.run, all_bound)
            failures = await _create_claims(
                http, count=claims, creators=creators, prefix="c", class_name="load",
                created=created,
            )  # fmt: skip
            created_in = time.perf_counter() - started
            assert not failures, f"claim creates failed: {failures[:10]}"
            try:
                with anyio.fail_after(within):
                    while len(log.bound_at) < claims:
                        log.changed = anyio.Event()
                        await log.changed.wait()
            finally:
                all_bound.set()
        bound_in = max(log.bound_at.values()) - started
        assert operator.alive, f"operator died:\n{operator.tail()}"
        harness.assert_consistent(cluster, bound=claims)
        assert not log.rebound(), f"claims bound twice: {list(log.rebound().items())[:10]}"
        assert not admitter.failures, f"pods not admitted right: {admitter.failures[:3]}"
        await harness.assert_index_matches_api(operator, http)
        to_bound = [log.bound_at[k] - created[k] for k in created]
        pods = len(admitter.latencies)
        admitting = admitter.finished - admitter.started
        rss_kb, _ = harness.memory_kb(operator.pid)
    return {
        "claims": claims,
        "claim creates/s": claims / created_in,
        "claims bound/s": claims / bound_in,
        "claim-to-Bound p50 ms": harness.percentile(to_bound, 0.5) * 1000,
        "claim-to-Bound p99 ms": harness.percentile(to_bound, 0.99) * 1000,
        "pods admitted": pods,
        "pod admissions/s": pods / admitting if admitting else 0.0,
        "pod admission p50 ms": harness.percentile(admitter.latencies, 0.5) * 1000,
        "pod admission p99 ms": harness.percentile(admitter.latencies, 0.99) * 1000,
        "API objects (claims+HostPorts+pods)": claims * 2 + pods,
        "operator RSS at the end MB": rss_kb / 1024,
        "operator peak RSS MB": operator.peak_rss_mb(),
    }


async def soak(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *, cycles: int, window: int = 32,
    within: float = 600, progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``cycles`` claims created, bound and deleted, ``window`` at a time; returns the figures.

    ``progress`` is called with a line at every tenth of the cycles (long runs).
    """
    async with harness.driven(target, workdir) as cluster:
        return await _soak(
            cluster, workdir, cycles=cycles, window=window, within=within, progress=progress
        )


async def _soak(
    cluster: Cluster, workdir: pathlib.Path, *, cycles: int, window: int, within: float,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:  # fmt: skip
    await harness.install_hpa(cluster, pod_namespace=NAMESPACE)
    await cluster.create(harness.host_port_class("soak", 30000, 30000 + window * 4))
    log = await harness.BindingLog.watching(cluster)
    operator = harness.OperatorProcess(
        kubeconfig=cluster.direct_kubeconfig, log=workdir / "operator.log",
        leader_elect=False, report_interval=0.25,
    )  # fmt: skip
    done = 0
    points: list[tuple[int, int, int]] = []  # (cycles done, RSS kB, tasks)
    async with operator.running(), harness.Api(cluster) as http:
        await cluster.route_webhook(operator.webhook_port)
        await harness.eventually(lambda: operator.samples, within=10)
        baseline_tasks = operator.samples[-1]["tasks"]
        numbers = iter(range(cycles))

        async def cycle() -> None:
            nonlocal done
            for number in numbers:
                name = f"s{number}"
                key = f"{NAMESPACE}/{name}"
                body = harness.claim(name, namespace=NAMESPACE, class_name="soak")
                status, answer = await http.call("POST", harness.claims_path(NAMESPACE), body)
                assert status == 201, (status, answer)
                await log.wait_for("bound", key)
                status, answer = await http.call(
                    "DELETE", f"{harness.claims_path(NAMESPACE)}/{name}"
                )
                assert status in (200, 202), (status, answer)
                await log.wait_for("deleted", key)
                done += 1

        async def sample() -> None:
            seen = reported = 0
            while True:
                if len(operator.samples) > seen:
                    seen = len(operator.samples)
                    last = operator.samples[-1]
                    points.append((done, last["rss_kb"], last["tasks"]))
                    if progress is not None and done >= reported + cycles // 10:
                        reported = done
                        progress(f"{done} cycles: RSS {last['rss_kb']} kB, {last['tasks']} tasks")
                await anyio.sleep(0.25)

        started = time.perf_counter()
        with anyio.fail_after(within):
            async with anyio.create_task_group() as group:
                group.start_soon(sample)
                async with anyio.create_task_group() as cyclers:
                    for _ in range(window):
                        cyclers.start_soon(cycle)
                group.cancel_scope.cancel()
        elapsed = time.perf_counter() - started
        assert operator.alive, f"operator died:\n{operator.tail()}"
        await harness.eventually(lambda: cluster.count(api.PLURAL_HOSTPORT) == 0, within=30)
        assert cluster.count(api.PLURAL_CLAIM) == 0, "claims left behind"
        harness.assert_consistent(cluster)
        assert not log.rebound(), f"claims bound twice: {list(log.rebound().items())[:10]}"
        await harness.assert_index_matches_api(operator, http)
        # Connections (the API server's to the webhook, the operator's to it) each have a
        # task, so the reference is the most seen in the first quarter, once they are open.
        warm = [tasks for cycles_done, _, tasks in points if cycles_done <= cycles // 4]
        reference = max(warm, default=baseline_tasks)
        final_tasks = await harness.eventually(
            lambda: operator.samples[-1]["tasks"] <= reference and operator.samples[-1]["tasks"],
            within=15,
            message=lambda: (
                f"{operator.samples[-1]['tasks']} tasks at the end, "
                f"{reference} in the first quarter: tasks leak"
            ),
        )
        rss_end, _ = harness.memory_kb(operator.pid)
    steady = [p for p in points if p[0] >= cycles // 4]
    xs = [p[0] / 1000 for p in steady]
    return {
        "cycles": cycles,
        "cycles/s": cycles / elapsed,
        "RSS slope kB per 1000 cycles": harness.slope(xs, [p[1] for p in steady]),
        "task slope per 1000 cycles": harness.slope(xs, [p[2] for p in steady]),
        "RSS at start MB": points[0][1] / 1024 if points else 0.0,
        "RSS at the end MB": rss_end / 1024,
        "tasks before the first cycle": baseline_tasks,
        "tasks, most in the first quarter": reference,
        "tasks at the end": final_tasks,
        "samples": len(points),
    }
