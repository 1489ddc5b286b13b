"""The Prometheus registry of hpa; metric objects are declared next to the code that updates
them, registered here (``registry=REGISTRY``) so tests can read one registry.

prometheus-client is used rather than hand-written text exposition: it is the reference
implementation of the format, and its collectors are thread- and task-safe.
"""

import prometheus_client

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)


def metrics_text() -> tuple[bytes, str]:
    """The exposition of every metric, and its content type."""
    return prometheus_client.generate_latest(REGISTRY), prometheus_client.CONTENT_TYPE_LATEST
