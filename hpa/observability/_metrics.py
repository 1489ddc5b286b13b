"""The Prometheus registry of hpa; metric objects are declared next to the code that updates
them, registered here (``registry=REGISTRY``, or through :func:`counter`, :func:`gauge` and
:func:`histogram`) so tests can read one registry.

prometheus-client is used rather than hand-written text exposition: it is the reference
implementation of the format, and its collectors are thread- and task-safe.
"""

from collections.abc import Sequence

import prometheus_client

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)

#: prometheus-client's default histogram buckets.
DEFAULT_BUCKETS = prometheus_client.Histogram.DEFAULT_BUCKETS


def metrics_text() -> tuple[bytes, str]:
    """The exposition of every metric, and its content type."""
    return prometheus_client.generate_latest(REGISTRY), prometheus_client.CONTENT_TYPE_LATEST


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> prometheus_client.Counter:
    """A counter in :data:`REGISTRY` (exposed as ``<name>_total``)."""
    return prometheus_client.Counter(name, documentation, labels, registry=REGISTRY)


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> prometheus_client.Gauge:
    """A gauge in :data:`REGISTRY`."""
    return prometheus_client.Gauge(name, documentation, labels, registry=REGISTRY)


def histogram(
    name: str,
    documentation: str,
    labels: Sequence[str] = (),
    *,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
) -> prometheus_client.Histogram:
    """A histogram in :data:`REGISTRY` (``<name>_bucket``, ``_sum``, ``_count``)."""
    return prometheus_client.Histogram(
        name, documentation, labels, buckets=buckets, registry=REGISTRY
    )
