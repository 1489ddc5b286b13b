"""Reliability figures: load, soak, chaos and failover at the sizes of the reliability issue.

Runs the scenarios of ``tests/reliability`` (which assert the same invariants: no port twice, no
leak, no lost claim, no crash) against a sandbox in this process, the operator in a child
process where its own RSS matters, and prints their figures:

- load: claims created as fast as the sandbox accepts them while pods are admitted through the
  webhook at a steady rate: creates/s, bound/s, claim-to-Bound and admission p50/p99, the
  operator's RSS at the end and its peak;
- soak: create/bind/delete cycles: cycles/s, the least-squares slope of the operator's RSS and
  task count over the cycles;
- chaos: a burst under killed leaders, dropped watches, 5xx/429, timeouts and 410s;
- failover: a partitioned and a SIGKILLed leader: seconds from its last renewal to takeover.

    python bench/reliability.py load --claims 10000 --pods-per-second 50
    python bench/reliability.py soak --cycles 100000
    python bench/reliability.py chaos --claims 3000
    python bench/reliability.py failover --claims 2000
"""

import argparse
import pathlib
import sys
import tempfile
from typing import Any

import anyio

# The scenarios live with the tests, which import them as the ``tests`` package.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from hpa import observability
from hpa.sandbox import Sandbox
from tests.reliability import chaos, failover, harness, load


async def _run(args: argparse.Namespace) -> None:
    observability.configure_logging(level="error", json=False)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="hpa-reliability-"))
    figures: dict[str, Any]
    async with Sandbox() as server:
        await server.install_crds()
        if args.scenario == "load":
            figures = await load.load(
                server, workdir, claims=args.claims, pods_per_second=args.pods_per_second,
                within=args.within,
            )  # fmt: skip
        elif args.scenario == "soak":
            figures = await load.soak(
                server, workdir, cycles=args.cycles, window=args.window, within=args.within,
                progress=lambda line: print(line, flush=True),
            )  # fmt: skip
        elif args.scenario == "chaos":
            figures = await chaos.chaos(server, workdir, claims=args.claims, within=args.within)
        else:
            figures = await failover.sigkill(server, workdir, claims=args.claims)
    if args.scenario == "failover":
        async with Sandbox() as server:
            await server.install_crds()
            (workdir / "partition").mkdir()
            figures |= {
                f"partition: {k}": v
                for k, v in (await failover.partition(server, workdir / "partition")).items()
            }
    print(harness.render(args.scenario, figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["load", "soak", "chaos", "failover"])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--pods-per-second", type=float, default=50.0)
    parser.add_argument("--cycles", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=32, help="soak: claims in flight")
    parser.add_argument("--within", type=float, default=7200.0, help="deadline, seconds")
    anyio.run(_run, parser.parse_args())


if __name__ == "__main__":
    main()
