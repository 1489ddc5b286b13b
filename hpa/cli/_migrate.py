"""``hpa migrate``: move an installation of the Go original to hpa (docs/migration.md).

It reads the cluster, plans, and prints the plan (``--dry-run``) or carries it out with a
progress line per step. The exit code is 0 when everything is migrated (or nothing was to be),
1 when a conflict or a failed step is left: the message says what to do, and running it again
after that continues where it stopped.
"""

import argparse
import os
from collections.abc import Callable

import anyio

from hpa import kube, migration, observability
from hpa.cli import _run

Write = Callable[[str], None]


async def run(client: kube.Client, *, dry_run: bool, write: Write) -> int:
    """Plan, and apply unless ``dry_run``; the exit code."""
    snapshot = await migration.read(client)
    if not snapshot.crds:
        write("no CustomResourceDefinition of hostport.rmb938.com is installed: nothing to migrate")
        return 0
    schema = "the original's" if snapshot.ports_visible else "hpa's"
    write(f"hostport.rmb938.com: {schema} HostPort CRD is installed")
    plan = migration.plan(snapshot)
    if dry_run:
        write("plan (dry run, nothing is changed):" if plan.steps else "plan: nothing to do")
        for step in plan.steps:
            write(f"  {step.line()}")
        _problems(plan, write)
        write(plan.summary())
        return 1 if plan.conflicts else 0
    if not plan.steps and not plan.conflicts:
        _problems(plan, write)
        write("nothing to do: everything is migrated")
        return 0
    outcome = await migration.apply(client, plan, report=write)
    _problems(plan, write)
    write(plan.summary())
    write(
        f"result: {outcome.changed} step(s) done, {outcome.unchanged} already done, "
        f"{len(outcome.failed)} failed, {outcome.skipped} skipped"
    )
    if outcome.ok and not plan.conflicts:
        write("migrated: start hpa now (docs/migration.md, step 4)")
        return 0
    for failure in outcome.failed:
        write(f"failed   {failure}")
    write("not finished: resolve what is listed above and run hpa migrate again")
    return 1


def _problems(plan: migration.Plan, write: Write) -> None:
    for conflict in plan.conflicts:
        write(conflict.line())
    for warning in plan.warnings:
        write(f"warning  {warning}")


async def _main(kubeconfig: str | None, dry_run: bool) -> int:
    transport = await kube.Kr8sTransport.connect(kubeconfig=kubeconfig)
    try:
        client = kube.Client(transport, timeout=60.0, field_manager="hpa-migrate")
        return await run(client, dry_run=dry_run, write=lambda line: print(line, flush=True))
    finally:
        with anyio.CancelScope(shield=True):
            await transport.aclose()


def _migrate(args: argparse.Namespace) -> int:
    if "HOME" not in os.environ:  # in a pod without a passwd entry, as `hpa run` (see there)
        os.environ["HOME"] = _run._passwd_home() or "/"
    observability.configure_logging(level="warning")
    try:
        code: int = anyio.run(_main, args.kubeconfig, args.dry_run)
    except kube.KubeError as error:
        print(f"hpa migrate: {error}")
        return 2
    return code


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa migrate``."""
    parser = commands.add_parser(
        "migrate",
        help="move an installation of the Go original (rmb938/hostport-allocator) to hpa",
        description="Move the HostPorts, claims and classes of the Go original to hpa's shape "
        "without changing a bound port: each claim keeps its name, uid and port, each pod its "
        "hostPort and annotations (it gets hpa's label). Run it after stopping the original "
        "and deleting its webhook configurations, with the original's CRDs still installed: it "
        "replaces them with hpa's itself, at the one point where that is safe. Then install "
        "hpa. Safe to run again; see docs/migration.md.",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("HPA_KUBECONFIG"),
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan, one line per step, and change nothing (exit code 1 if there "
        "are conflicts)",
    )
    parser.set_defaults(handler=_migrate)
