"""``hpa migrate``: moves an installation of the Go original (rmb938/hostport-allocator) to
hpa without changing a bound port, re-creating a claim or touching a pod's spec.

:func:`read` takes a :class:`Snapshot` of the cluster, :func:`plan` (pure) turns it into a
:class:`Plan` of steps and conflicts, :func:`apply` carries the steps out, each safe to
repeat. docs/migration.md says how to run it and what it cannot do.

Above ``hpa.kube``, ``hpa.webhook`` and ``hpa.api``, beside ``hpa.manifests``; only ``hpa.cli``
imports it.
"""

from hpa.migration._apply import Outcome, StepError, apply
from hpa.migration._plan import plan
from hpa.migration._snapshot import Snapshot, read
from hpa.migration._steps import Conflict, Plan, Step

__all__ = ["Conflict", "Outcome", "Plan", "Snapshot", "Step", "StepError", "apply", "plan", "read"]
