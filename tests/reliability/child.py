"""The whole hpa process (``hpa run``'s ``run_process``) as a child process that reports on itself.

Started by :class:`tests.reliability.harness.OperatorProcess` as
``python -m tests.reliability.child '<json settings>'``. It runs exactly what ``hpa run`` runs
(webhook, certificates, metrics, health, operator), with the settings ``hpa run`` has no flags
for (lease timings, repair interval and grace), and writes JSON lines on stdout:

- ``{"event": "started", "webhook_port": ..., "metrics_port": ..., "health_port": ...}``;
- every ``report_interval`` seconds a ``sample``: VmRSS/VmHWM (kB), the number of asyncio tasks,
  the ports the index holds and whether this replica leads;
- on SIGUSR1, ``{"event": "held", "ports": [[port, class], ...], "slots": [[port, slot,
  class], ...]}``: the whole port index (per-node HostPorts in ``slots``).

SIGTERM or SIGINT stop it in order, as ``hpa run``.
"""

import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

import anyio

from hpa import controllers, kube, observability
from hpa.cli import _operator, _process


def memory_kb(pid: int | str = "self") -> tuple[int, int]:
    """VmRSS and VmHWM of a process in kB (0, 0 once it is gone)."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _sample(manager: controllers.Manager) -> dict[str, Any]:
    rss, hwm = memory_kb()
    return {
        "event": "sample",
        "t": time.monotonic(),
        "rss_kb": rss,
        "hwm_kb": hwm,
        "tasks": len(asyncio.all_tasks()),
        "held": manager.ports.held_count(),
        "leader": manager.elector.is_leader if manager.elector is not None else True,
    }


async def _report(manager: controllers.Manager, interval: float) -> None:
    while True:
        _say(**_sample(manager))
        await anyio.sleep(interval)


async def _dump_on_signal(manager: controllers.Manager) -> None:
    with anyio.open_signal_receiver(signal.SIGUSR1) as signals:
        async for _ in signals:
            ports, slots = sorted(manager.ports.held()), sorted(manager.ports.held_slots())
            _say(**{**_sample(manager), "event": "held", "ports": ports, "slots": slots})


async def _stop_on_signal(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


async def main(settings: dict[str, Any]) -> None:
    """Run the process with ``settings`` until SIGTERM."""
    report_interval = float(settings.pop("report_interval", 0.5))
    operator = _operator.OperatorConfig(**settings)
    serving = _process.ServingConfig(
        host="127.0.0.1", webhook_port=0, metrics_port=0, health_port=0,
        ip_addresses=("127.0.0.1",),
    )  # fmt: skip
    stop = anyio.Event()
    transport = await kube.Kr8sTransport.connect(kubeconfig=operator.kubeconfig)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signal, stop)
            running = await group.start(
                lambda task_status: _process.run_process(
                    operator, serving, transport=transport, stop=stop, task_status=task_status
                )
            )
            _say(
                event="started",
                pid=os.getpid(),
                webhook_port=running.webhook_port,
                metrics_port=running.metrics_port,
                health_port=running.health_port,
            )
            async with anyio.create_task_group() as reporters:
                reporters.start_soon(_report, running.manager, report_interval)
                reporters.start_soon(_dump_on_signal, running.manager)
                await stop.wait()
                reporters.cancel_scope.cancel()
            # run_process returns once it has stopped in order; the group waits for it.
    finally:
        with anyio.CancelScope(shield=True):
            await transport.aclose()


if __name__ == "__main__":
    observability.configure_logging(level=os.environ.get("HPA_LOG_LEVEL", "warning"), json=True)
    anyio.run(main, json.loads(sys.argv[1]))
