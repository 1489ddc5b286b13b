"""Structured logging and Prometheus metrics, shared by every layer above ``hpa.api``.

Holds no hpa logic: the metric objects live here so that controllers update them and the
serving package exposes them, without either importing the other.
"""

from hpa.observability._logging import configure_logging
from hpa.observability._metrics import (
    DEFAULT_BUCKETS,
    REGISTRY,
    counter,
    gauge,
    histogram,
    metrics_text,
)
from hpa.observability._readiness import Readiness

__all__ = [
    "DEFAULT_BUCKETS",
    "REGISTRY",
    "Readiness",
    "configure_logging",
    "counter",
    "gauge",
    "histogram",
    "metrics_text",
]
