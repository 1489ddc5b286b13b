"""Carries out a plan, step by step, each step safe to repeat.

Every step reads its object first and writes only what is still missing (``already done``
otherwise), with the object's resourceVersion as precondition, so a migration stopped at any
point is finished by running it again. A step that finds the object other than planned (another
uid, a HostPort that names another claim) fails, and the later steps of its unit are skipped:
an old HostPort is never deleted before its ``port-<n>`` holds the port.

The CRDs are replaced only when the ``before`` phase had no conflict and no failure. Right
after, an API server may still serve the old schema for a moment (it learns of the new CRD by
a watch), which would drop ``spec.port``: the steps that write hpa-only fields check the answer
and are repeated until it shows them.
"""

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio

from hpa import kube
from hpa.migration import _early, _late, _writes
from hpa.migration import _steps as st

Report = Callable[[str], None]
StepError = _writes.StepError

_HANDLERS: Final[dict[type[st.Step], Callable[[_writes.Writer, Any], Awaitable[bool]]]] = {
    st.CreateHostPort: _early.create,
    st.PointClaim: _early.point,
    st.UnbindClaim: _early.unbind,
    st.DropFinalizer: _early.drop_finalizer,
    st.DeleteHostPort: _early.delete,
    st.LabelPod: _early.label,
    st.ReplaceCrd: _late.replace_crd,
    st.CompleteHostPort: _late.complete,
    st.SettleClaim: _late.settle_claim,
    st.SettleClass: _late.settle_class,
}
#: Tries of a step whose resourceVersion precondition another writer beat.
_CONFLICT_TRIES: Final = 3


@dataclasses.dataclass
class Outcome:
    """What a run did."""

    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)
    #: Whether the run stopped before the CRDs (conflicts or failures before them).
    stopped: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped


async def apply(
    client: kube.Client, plan: st.Plan, *, report: Report, settle_timeout: float = 30.0
) -> Outcome:
    """Carry out ``plan``; ``report`` gets one progress line per step."""
    return await _Run(_writes.Writer(client, settle_timeout), plan, report).run()


class _Run:
    def __init__(self, writer: _writes.Writer, plan: st.Plan, report: Report) -> None:
        self.writer = writer
        self.plan = plan
        self.report = report
        self.outcome = Outcome()
        self.failed_units: set[str] = set()
        self.index = 0

    async def run(self) -> Outcome:
        await self._phase(self.plan.phase("before"))
        crds = self.plan.phase("crds")
        if crds and (self.plan.conflicts or self.outcome.failed):
            self.outcome.stopped = True
            self.report(
                f"stopped before replacing the CRDs ({len(self.plan.conflicts)} conflict(s), "
                f"{len(self.outcome.failed)} failed step(s)): the installation is still the "
                "original's; resolve them and run hpa migrate again"
            )
            return self.outcome
        await self._phase(crds)
        if self.outcome.failed and crds:
            self.outcome.stopped = True
            return self.outcome
        await self._phase(self.plan.phase("after"))
        return self.outcome

    async def _phase(self, steps: list[st.Step]) -> None:
        for step in steps:
            self.index += 1
            prefix = f"[{self.index}/{len(self.plan.steps)}] {step.line()}"
            if step.unit in self.failed_units:
                self.outcome.skipped += 1
                self.report(f"{prefix}: skipped (an earlier step of {step.unit} failed)")
                continue
            try:
                changed = await self._step(step)
            except (StepError, kube.KubeError) as error:
                self.failed_units.add(step.unit)
                self.outcome.failed.append(f"{step.line()}: {error}")
                self.report(f"{prefix}: FAILED: {error}")
                continue
            if changed:
                self.outcome.changed += 1
            else:
                self.outcome.unchanged += 1
            self.report(f"{prefix}: {'done' if changed else 'already done'}")

    async def _step(self, step: st.Step) -> bool:
        handler = _HANDLERS[type(step)]
        deadline = time.monotonic() + self.writer.settle_timeout
        tries = 0
        while True:
            try:
                return await handler(self.writer, step)
            except kube.Conflict:
                tries += 1  # another writer changed the object first: read it again
                if tries >= _CONFLICT_TRIES:
                    raise
            except _writes.Stale:
                if time.monotonic() > deadline:
                    raise StepError(
                        "the API server still serves the original's schema "
                        f"{self.writer.settle_timeout:.0f} s after the CRDs were replaced"
                    ) from None
                await anyio.sleep(0.5)
