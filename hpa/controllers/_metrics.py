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
    "Claims that could not be given a port, by reason (ClassNotFound, ClassFull, Taken).",
    ["reason"],
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
