"""Metrics of the admission webhook, registered in the shared registry."""

from typing import Final

import prometheus_client

from hpa import observability

REQUESTS: Final = prometheus_client.Counter(
    "hpa_admission_requests",
    "Admission reviews answered, by operation, resource and verdict.",
    ["operation", "resource", "allowed"],
    registry=observability.REGISTRY,
)

DURATION: Final = prometheus_client.Histogram(
    "hpa_admission_duration_seconds",
    "Time to answer an admission review, from decoded request to encoded response.",
    ["resource"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=observability.REGISTRY,
)

MALFORMED: Final = prometheus_client.Counter(
    "hpa_admission_malformed_requests",
    "Requests to the admission endpoints that were not AdmissionReviews (answered with 4xx).",
    registry=observability.REGISTRY,
)
