"""The steps of a migration, each one line of the plan, and the plan itself.

Steps are plain data: :mod:`._plan` decides them from what the cluster holds, :mod:`._apply`
carries them out. They run in three phases:

- ``before``: while the original's CRDs are still installed, which is the only time the
  original's ``status.port`` can be read and a claim's ``spec.hostPortName`` changed (hpa's CRD
  sets it once), and the only time an original HostPort's finalizer can be removed (hpa's CRD
  refuses any update of an object not named ``port-<n>``);
- ``crds``: the three CRDs replaced by hpa's;
- ``after``: what needs hpa's schema: ``spec.port`` of the new HostPorts, the claims'
  ``status.port``; and then the old HostPorts deleted.

Every step belongs to a *unit* (a port, a claim, a class, a pod): when one step fails, the later
steps of its unit are skipped, so a port is never let go before its new HostPort holds it.
"""

import dataclasses
from collections import Counter
from typing import Final, Literal

from hpa import api
from hpa.migration import _original

Phase = Literal["before", "crds", "after"]

#: The claim condition hpa writes when it binds a claim, as the migration writes it too.
BOUND: Final = "Bound"


def bound_message(port: int) -> str:
    """The message of a bound claim's ``Bound`` condition, as hpa's claim controller words it
    (it then finds the condition it would write and leaves the claim alone)."""
    return f"bound to HostPort {api.hostport_name(port)} (port {port})"


@dataclasses.dataclass(frozen=True)
class ClaimId:
    """A claim: namespace, name and the uid it must still have."""

    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step:
    """One write (or check) of the migration."""

    unit: str

    @property
    def phase(self) -> Phase:
        return "before"

    def line(self) -> str:
        raise NotImplementedError


def owner(claim: ClaimId | None) -> str:
    """Whom a HostPort is for, as text."""
    return f"claim {claim} (uid {claim.uid})" if claim else "no claim"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateHostPort(Step):
    """Create ``port-<n>``: from now on the name holds the port (in the original's model too,
    by its ``status.port``, set while the original's CRD is installed)."""

    port: int
    class_name: str
    claim: ClaimId | None
    before_swap: bool

    @property
    def phase(self) -> Phase:
        return "before" if self.before_swap else "after"

    def line(self) -> str:
        return (
            f"create   HostPort {api.hostport_name(self.port)}: port {self.port} of class "
            f"{self.class_name}, for {owner(self.claim)}"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class PointClaim(Step):
    """Point a claim's ``spec.hostPortName`` at its new HostPort."""

    claim: ClaimId
    old: str
    new: str

    def line(self) -> str:
        return (
            f"point    HostPortClaim {self.claim}: spec.hostPortName {self.old or '(unset)'} "
            f"-> {self.new}"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnbindClaim(Step):
    """Remove a claim's ``spec.hostPortName`` that names a HostPort without a port, or that is
    empty (``old`` is then '')."""

    claim: ClaimId
    old: str

    def line(self) -> str:
        if not self.old:
            return (
                f"unbind   HostPortClaim {self.claim}: the empty spec.hostPortName the original "
                "wrote removed (hpa's schema refuses it); hpa gives it a port"
            )
        return (
            f"unbind   HostPortClaim {self.claim}: spec.hostPortName {self.old} cleared (it "
            "never got a port); hpa gives it one"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DropFinalizer(Step):
    """Remove the original's finalizer from an object."""

    kind: str
    namespace: str
    name: str
    uid: str

    def line(self) -> str:
        ref = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"release  {self.kind} {ref}: remove the original's finalizer {_original.FINALIZER}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeleteHostPort(Step):
    """Delete one of the original's HostPorts (it has no finalizer of the original's by then)."""

    name: str
    uid: str
    why: str
    late: bool

    @property
    def phase(self) -> Phase:
        return "after" if self.late else "before"

    def line(self) -> str:
        return f"delete   HostPort {self.name}: {self.why}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelPod(Step):
    """Give a pod that uses claims hpa's label, by which hpa watches pods (metadata only)."""

    namespace: str
    name: str
    uid: str

    def line(self) -> str:
        return f"label    Pod {self.namespace}/{self.name}: {api.POD_LABEL}=true"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplaceCrd(Step):
    """Replace one CRD by hpa's."""

    name: str

    @property
    def phase(self) -> Phase:
        return "crds"

    def line(self) -> str:
        return f"replace  CustomResourceDefinition {self.name} with hpa's"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompleteHostPort(Step):
    """Give ``port-<n>`` what only hpa's schema keeps: ``spec.port``, the reclaim policy, hpa's
    finalizer and phase."""

    port: int
    claim: ClaimId | None

    @property
    def phase(self) -> Phase:
        return "after"

    @property
    def reclaim_policy(self) -> str | None:
        """Delete, as the original deletes a HostPort with its claim; a reserved one keeps
        hpa's default for reserved ports (Retain), as the original never deletes it."""
        return api.RECLAIM_DELETE if self.claim else None

    @property
    def wanted_phase(self) -> str:
        return api.PHASE_ALLOCATED if self.claim else api.PHASE_RESERVED

    def line(self) -> str:
        policy = f", reclaimPolicy {self.reclaim_policy}" if self.reclaim_policy else ""
        return (
            f"complete HostPort {api.hostport_name(self.port)}: spec.port {self.port}{policy}, "
            f"finalizer {api.FINALIZER}, phase {self.wanted_phase}"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SettleClaim(Step):
    """hpa's finalizer and status on a claim: Bound with its port, or left for hpa to bind."""

    claim: ClaimId
    port: int | None
    reset: bool = False

    @property
    def phase(self) -> Phase:
        return "after"

    def line(self) -> str:
        if self.port is not None:
            return (
                f"bind     HostPortClaim {self.claim}: phase Bound, port {self.port}, "
                f"finalizer {api.FINALIZER}"
            )
        pending = ", phase Pending" if self.reset else ""
        return (
            f"settle   HostPortClaim {self.claim}: no port yet{pending}, the original's "
            "finalizer removed (hpa binds it)"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SettleClass(Step):
    """hpa's finalizer on a class, and its pools as hpa's CRD accepts them if they must change."""

    name: str
    uid: str
    pools: tuple[tuple[int, int], ...] | None
    old_pools: str

    @property
    def phase(self) -> Phase:
        return "after"

    def line(self) -> str:
        change = ""
        if self.pools is not None:
            new = ",".join(f"{start}-{end}" for start, end in self.pools)
            change = f", pools {self.old_pools} -> {new} (the same ports, without overlaps)"
        return f"adopt    HostPortClass {self.name}: finalizer {api.FINALIZER}{change}"


@dataclasses.dataclass(frozen=True)
class Conflict:
    """Something the migration leaves untouched, and what to do about it."""

    unit: str
    message: str

    def line(self) -> str:
        return f"conflict {self.unit}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a migration does, in order, and what it cannot do."""

    steps: tuple[Step, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    warnings: tuple[str, ...] = ()

    def phase(self, phase: Phase) -> list[Step]:
        return [step for step in self.steps if step.phase == phase]

    def summary(self) -> str:
        kinds = Counter(type(step) for step in self.steps)
        moved = sum(1 for s in self.steps if isinstance(s, CompleteHostPort))
        parts = [
            f"{moved} port(s) move to hpa",
            f"{kinds[SettleClaim]} claim(s) settled",
            f"{kinds[LabelPod]} pod(s) labelled",
            f"{kinds[ReplaceCrd]} CRD(s) replaced",
            f"{kinds[DeleteHostPort]} old HostPort(s) deleted",
        ]
        return (
            f"summary: {', '.join(parts)}; {len(self.steps)} step(s), "
            f"{len(self.conflicts)} conflict(s)"
        )
