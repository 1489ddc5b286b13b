"""Reconcilers that turn HostPortClaims into bound HostPorts, fed by work queues.

The reconcile contract (:class:`Result`, :class:`TerminalError`, :class:`Reconciler`) is kept
apart from the loop that runs it (:class:`Controller` with a :class:`WorkQueue`); informer
changes are mapped to keys in ``_handlers``. :class:`Manager` composes caches, port index,
controllers, repair loop and leader election into the operator; its
:class:`ClaimProvisioner` binds per-pod claims for the webhook, in the admission path.
"""

from hpa.controllers._claim_provisioner import ClaimProvisioner
from hpa.controllers._claim_reconciler import ClaimReconciler
from hpa.controllers._class_reconciler import ClassReconciler, ranges_text
from hpa.controllers._context import Context
from hpa.controllers._controller import Controller
from hpa.controllers._hostport_reconciler import HostPortReconciler
from hpa.controllers._manager import CHECK_CACHES, CHECK_INDEX, Manager
from hpa.controllers._queueing import ExponentialBackoff, ShutDown, WorkQueue
from hpa.controllers._quota_reconciler import QuotaReconciler
from hpa.controllers._reconciling import Reconciler, Result, TerminalError
from hpa.controllers._repair import Repairer
from hpa.controllers._statefulset_reconciler import StatefulSetReconciler

__all__ = [
    "CHECK_CACHES",
    "CHECK_INDEX",
    "ClaimProvisioner",
    "ClaimReconciler",
    "ClassReconciler",
    "Context",
    "Controller",
    "ExponentialBackoff",
    "HostPortReconciler",
    "Manager",
    "QuotaReconciler",
    "Reconciler",
    "Repairer",
    "Result",
    "ShutDown",
    "StatefulSetReconciler",
    "TerminalError",
    "WorkQueue",
    "ranges_text",
]
