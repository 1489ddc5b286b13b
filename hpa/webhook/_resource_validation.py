"""The validating webhook of hpa's own kinds: HostPortClass, HostPortClaim and HostPort.

The CRDs' schemas and CEL rules already hold most invariants in the API server (so they hold
while the webhook is down); this webhook repeats them with messages that name the field and the
fix, and adds what CEL cannot see: a class's pools against other classes (allowed, answered
with a warning naming the other class, unless one of the two is per node: then refused, as a
per-node class shares no port), a claim's class existing and its static port lying in
the class's pools (warnings too), and the per-class claim quota on claim CREATE (``_class_quota``).

Objects are decoded into loose projections (every field optional, no bounds), not the
``hpa.api`` types, so that an out-of-range value is reported by these checks in words rather
than as a decoding error.
"""

from collections.abc import Iterable
from typing import Final, TypeVar

from hpa import api
from hpa.webhook import _class_quota as class_quota
from hpa.webhook import _handling as handling
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews

#: The API server keeps warnings short; more than this many overlaps are summarised.
MAX_WARNINGS: Final = 10


class _Meta(api.Wire, frozen=True, kw_only=True):
    name: str = ""


class _Pool(api.Wire, frozen=True, kw_only=True):
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


class _ClassSpec(api.Wire, frozen=True, kw_only=True):
    pools: tuple[_Pool, ...] = ()
    allocation: str = api.ALLOCATION_CLUSTER_WIDE


class _Class(api.Wire, frozen=True, kw_only=True):
    metadata: _Meta = _Meta()
    spec: _ClassSpec = _ClassSpec()


class _ClaimSpec(api.Wire, frozen=True, kw_only=True):
    host_port_class_name: str = ""
    host_port_name: str = ""
    port: int | None = None


class _Claim(api.Wire, frozen=True, kw_only=True):
    metadata: _Meta = _Meta()
    spec: _ClaimSpec = _ClaimSpec()


class _ClaimRef(api.Wire, frozen=True, kw_only=True):
    namespace: str = ""
    name: str = ""
    uid: str = ""


class _HostPortSpec(api.Wire, frozen=True, kw_only=True):
    host_port_class_name: str = ""
    port: int = 0
    slot: int | None = None
    claim_ref: _ClaimRef | None = None


class _HostPort(api.Wire, frozen=True, kw_only=True):
    metadata: _Meta = _Meta()
    spec: _HostPortSpec = _HostPortSpec()


_Problems = list[responses.Problem]
_T = TypeVar("_T")


class ResourceValidator:
    """Handler of ``/validate-hostport-rmb938-com`` (hpa's kinds, CREATE and UPDATE).

    Args:
        classes: the HostPortClasses.
        quotas: ResourceQuotas and claim counts; the per-class claim quota is checked on claim
            CREATE only when given, with ``claims``.
        claims: the cached claims.
    """

    def __init__(
        self,
        *,
        classes: readers.ClassReader,
        quotas: readers.QuotaReader | None = None,
        claims: readers.ClaimReader | None = None,
    ) -> None:
        self._classes = classes
        self._quotas = (
            None
            if quotas is None or claims is None
            else class_quota.ClassQuota(quotas, claims=claims)
        )

    async def __call__(self, request: reviews.AdmissionRequest, /) -> reviews.AdmissionResponse:
        """Allow the object (perhaps with warnings), or deny naming each invalid field."""
        if request.operation not in (reviews.CREATE, reviews.UPDATE) or request.sub_resource:
            return responses.allowed()
        if request.resource.group != api.GROUP:
            return responses.allowed()
        warnings: list[str] = []
        plural = request.resource.resource
        if plural == api.PLURAL_CLASS:
            new_class, old_class = _objects(request, _Class)
            problems = _check_class(new_class)
            warnings, overlaps = _class_overlaps(new_class, old_class, self._classes.classes())
            problems += overlaps
        elif plural == api.PLURAL_CLAIM:
            new_claim, old_claim = _objects(request, _Claim)
            problems = _check_claim(new_claim, old_claim)
            warnings = self._claim_warnings(new_claim)
            if not problems and old_claim is None and self._quotas is not None:
                denial = self._quotas.check(
                    namespace=request.namespace,
                    class_name=new_claim.spec.host_port_class_name,
                    name=new_claim.metadata.name or request.name or request.uid,
                    dry_run=bool(request.dry_run),
                )
                if denial is not None:
                    return denial
        elif plural == api.PLURAL_HOSTPORT:
            new_hostport, old_hostport = _objects(request, _HostPort)
            problems = _check_hostport(new_hostport, old_hostport, name=request.name)
        else:
            return responses.allowed()
        if problems:
            return responses.denied_for(
                problems, code=422, reason=responses.REASON_INVALID, warnings=warnings
            )
        return responses.allowed(warnings=warnings)

    def _claim_warnings(self, claim: _Claim) -> list[str]:
        name = claim.spec.host_port_class_name
        if not name:
            return []
        cls = next((c for c in self._classes.classes() if c.metadata.name == name), None)
        if cls is None:
            return [
                f"spec.hostPortClassName: HostPortClass {name!r} does not exist (yet); the "
                "claim stays Pending until it does"
            ]
        port = claim.spec.port
        pools = cls.spec.pools
        if port is not None and not any(p.start <= port <= p.end for p in pools):
            ranges = ",".join(f"{p.start}-{p.end}" for p in pools)
            return [
                f"spec.port: {port} is not in the pools of HostPortClass {name!r} ({ranges}); "
                "the claim stays Pending until the pools include it"
            ]
        return []


def _objects(request: reviews.AdmissionRequest, type_: type[_T]) -> tuple[_T, _T | None]:
    new = handling.decode_object(request.object, type_)
    if new is None:
        raise errors.BadObject("request.object is missing")
    old = None
    if request.operation == reviews.UPDATE:
        old = handling.decode_object(request.old_object, type_, what="oldObject")
    return new, old


def _port_problem(field: str, port: int) -> responses.Problem | None:
    if api.PORT_MIN <= port <= api.PORT_MAX:
        return None
    return responses.Problem(
        field=field,
        message=f"{port} is outside {api.PORT_MIN}-{api.PORT_MAX}; use a port in that range",
    )


def _check_class(obj: _Class) -> _Problems:
    pools = obj.spec.pools
    if not pools:
        return [
            responses.Problem(
                field="spec.pools",
                message="a class needs at least one pool, e.g. [{start: 9000, end: 9500}]",
            )
        ]
    problems: _Problems = []
    for i, pool in enumerate(pools):
        for bound in ("start", "end"):
            problem = _port_problem(f"spec.pools[{i}].{bound}", getattr(pool, bound))
            if problem is not None:
                problems.append(problem)
        if pool.start > pool.end:
            problems.append(
                responses.Problem(
                    field=f"spec.pools[{i}]",
                    message=f"start {pool.start} is greater than end {pool.end}; swap them",
                )
            )
    if len(pools) > api.MAX_POOLS:
        problems.append(
            responses.Problem(
                field="spec.pools",
                message=f"has {len(pools)} pools, at most {api.MAX_POOLS} are allowed; merge "
                "adjacent pools",
            )
        )
    return problems or _overlaps_inside(pools)


def _overlaps_inside(pools: tuple[_Pool, ...]) -> _Problems:
    """Each pool that overlaps an earlier-starting one, in O(n log n)."""
    problems: _Problems = []
    order = sorted(range(len(pools)), key=lambda i: (pools[i].start, pools[i].end))
    reach = order[0]  # the pool reaching furthest among those seen so far
    for i in order[1:]:
        if pools[i].start <= pools[reach].end:
            first, second = sorted((reach, i))
            problems.append(
                responses.Problem(
                    field=f"spec.pools[{second}]",
                    message=f"{pools[second]} overlaps spec.pools[{first}] {pools[first]}; "
                    "pools of one class must not overlap, merge or split them",
                )
            )
        if pools[i].end > pools[reach].end:
            reach = i
    return problems


def _class_overlaps(
    obj: _Class, old: _Class | None, others: Iterable[api.HostPortClass]
) -> tuple[list[str], _Problems]:
    """One warning per pool overlapping a pool of another class; a problem instead where
    either class is per node, unless the pools and mode are those the class already had (an
    overlap made while the webhook was down does not block other edits)."""
    warnings: list[str] = []
    problems: _Problems = []
    spec = obj.spec
    unchanged = old is not None and (old.spec.pools, old.spec.allocation) == (
        spec.pools,
        spec.allocation,
    )
    for other in sorted(others, key=lambda c: c.metadata.name):
        if other.metadata.name == obj.metadata.name:
            continue
        per_node = api.ALLOCATION_PER_NODE in (spec.allocation, other.spec.allocation)
        for i, pool in enumerate(spec.pools):
            for theirs in other.spec.pools:
                if not (pool.start <= theirs.end and theirs.start <= pool.end):
                    continue
                overlap = (
                    f"{pool} overlaps pool {theirs.start}-{theirs.end} of HostPortClass "
                    f"{other.metadata.name!r}"
                )
                if per_node and not unchanged:
                    problems.append(
                        responses.Problem(
                            field=f"spec.pools[{i}]",
                            message=f"{overlap}; a per-node class shares no port with another "
                            "class (its holders are counted per node): use ports no other "
                            "class has",
                        )
                    )
                else:
                    warnings.append(
                        f"spec.pools[{i}]: {overlap}; the classes share those ports"
                        + ("; the per-node class offers none of them" if per_node else "")
                    )
    if len(warnings) > MAX_WARNINGS:
        extra = len(warnings) - MAX_WARNINGS + 1
        warnings = [*warnings[: MAX_WARNINGS - 1], f"and {extra} more overlaps with other classes"]
    return warnings, problems


def _immutable(field: str, new: object, old: object, *, kind: str) -> responses.Problem:
    return responses.Problem(
        field=field,
        message=f"is immutable (was {old!r}, now {new!r}); delete and re-create the {kind}",
    )


def _check_claim(obj: _Claim, old: _Claim | None) -> _Problems:
    problems: _Problems = []
    spec = obj.spec
    if not spec.host_port_class_name:
        problems.append(
            responses.Problem(
                field="spec.hostPortClassName",
                message="is required; name the HostPortClass to take a port from "
                "(kubectl get hostportclasses)",
            )
        )
    if old is None:
        if spec.host_port_name:
            problems.append(
                responses.Problem(
                    field="spec.hostPortName",
                    message="is set by hpa when it binds the claim; remove it (to ask for one "
                    "port, set spec.port)",
                )
            )
        return problems
    if spec.host_port_class_name != old.spec.host_port_class_name:
        problems.append(
            _immutable(
                "spec.hostPortClassName",
                spec.host_port_class_name,
                old.spec.host_port_class_name,
                kind="HostPortClaim",
            )
        )
    if old.spec.host_port_name and spec.host_port_name != old.spec.host_port_name:
        problems.append(
            responses.Problem(
                field="spec.hostPortName",
                message=f"is set once, when the claim is bound, and never changes (was "
                f"{old.spec.host_port_name!r}, now {spec.host_port_name!r})",
            )
        )
    return problems


def _check_hostport(obj: _HostPort, old: _HostPort | None, *, name: str) -> _Problems:
    problems: _Problems = []
    spec = obj.spec
    if not spec.host_port_class_name:
        problems.append(
            responses.Problem(
                field="spec.hostPortClassName", message="is required; name the port's class"
            )
        )
    port_problem = _port_problem("spec.port", spec.port)
    if port_problem is not None:
        problems.append(port_problem)
    elif spec.slot is not None and not 0 <= spec.slot <= api.SLOT_MAX:
        problems.append(responses.Problem(field="spec.slot", message=f"must be 0..{api.SLOT_MAX}"))
    else:
        expected = api.hostport_name(spec.port, spec.slot)
        actual = obj.metadata.name or name
        if actual != expected:
            after = "its port" if spec.slot is None else f"its port and slot {spec.slot}"
            problems.append(
                responses.Problem(
                    field="metadata.name",
                    message=f"must be {expected} for spec.port {spec.port} (a HostPort is "
                    f"named after {after}); name it {expected}",
                )
            )
    if old is None:
        return problems
    for field, new_value, old_value in (
        ("spec.hostPortClassName", spec.host_port_class_name, old.spec.host_port_class_name),
        ("spec.port", spec.port, old.spec.port),
        ("spec.slot", spec.slot, old.spec.slot),
    ):
        if new_value != old_value:
            problems.append(_immutable(field, new_value, old_value, kind="HostPort"))
    if old.spec.claim_ref is not None and spec.claim_ref != old.spec.claim_ref:
        problems.append(
            responses.Problem(
                field="spec.claimRef",
                message="is set once and never changes; delete the HostPort to free the port",
            )
        )
    return problems
