"""The controllers' Prometheus metrics, registered in ``observability.REGISTRY``."""

from typing import Final

import prometheus_client

from hpa import observability

PORTS: Final = prometheus_client.Gauge(
    "hpa_ports",
    "Ports of a HostPortClass by state (total, allocated, free).",
    ["class", "state"],
    registry=observability.REGISTRY,
)
ALLOCATIONS: Final = prometheus_client.Counter(
    "hpa_allocations",
    "Ports allocated to claims (HostPorts created and bound).",
    registry=observability.REGISTRY,
)
ALLOCATION_FAILURES: Final = prometheus_client.Counter(
    "hpa_allocation_failures",
    "Claims left Pending, by the reason of their Bound condition (ClassNotFound, ClassFull, ...).",
    ["reason"],
    registry=observability.REGISTRY,
)
ALLOCATION_CONFLICTS: Final = prometheus_client.Counter(
    "hpa_allocation_conflicts",
    "Candidate ports found taken when their HostPort was created (409): another writer, or a "
    "cache behind the API server; the next candidate is tried.",
    registry=observability.REGISTRY,
)
RECONCILE_DURATION: Final = prometheus_client.Histogram(
    "hpa_reconcile_duration_seconds",
    "Time of one reconcile, by controller.",
    ["controller"],
    registry=observability.REGISTRY,
)
RECONCILE_ERRORS: Final = prometheus_client.Counter(
    "hpa_reconcile_errors",
    "Reconciles that failed, by controller.",
    ["controller"],
    registry=observability.REGISTRY,
)
WORKQUEUE_DEPTH: Final = prometheus_client.Gauge(
    "hpa_workqueue_depth",
    "Keys waiting in a controller's work queue.",
    ["controller"],
    registry=observability.REGISTRY,
)
REPAIR_ACTIONS: Final = prometheus_client.Counter(
    "hpa_repair_actions",
    "Inconsistencies the repair loop found and fixed, by kind.",
    ["kind"],
    registry=observability.REGISTRY,
)
