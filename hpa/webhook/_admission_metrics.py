"""Metrics of the admission webhook, registered in the shared registry.

hpa's own (``hpa_admission_*``, by resource and verdict) and controller-runtime's webhook
metrics (``controller_runtime_webhook_*``, by ``webhook``: the URL path, e.g. /mutate-pods, and
the HTTP status ``code``), so that dashboards made for controller-runtime webhooks work too.
Both are recorded by the admission server (``_admission_server``), once per request.
"""

from typing import Final

from hpa import observability

REQUESTS: Final = observability.counter(
    "hpa_admission_requests",
    "Admission reviews answered, by operation, resource and verdict.",
    ["operation", "resource", "allowed"],
)

DURATION: Final = observability.histogram(
    "hpa_admission_duration_seconds",
    "Time to answer an admission review, from decoded request to encoded response.",
    ["resource"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

MALFORMED: Final = observability.counter(
    "hpa_admission_malformed_requests",
    "Requests to the admission endpoints that were not AdmissionReviews (answered with 4xx).",
)

ERRORS: Final = observability.counter(
    "hpa_admission_errors",
    "Admission reviews answered with an error instead of a verdict, by resource and the code "
    "of the answer: 400 (the object could not be read), 500 (hpa failed to review it; logged).",
    ["resource", "code"],
)

#: The Prometheus Go client's default buckets, which controller-runtime's webhook latency uses.
WEBHOOK_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

WEBHOOK_REQUESTS: Final = observability.counter(
    "controller_runtime_webhook_requests",
    "Requests to a webhook path, by the HTTP status code of the answer (200 for every review "
    "answered, whatever its verdict).",
    ["webhook", "code"],
)
WEBHOOK_LATENCY: Final = observability.histogram(
    "controller_runtime_webhook_latency_seconds",
    "Time to answer a request to a webhook path, from its headers to the answer.",
    ["webhook"],
    buckets=WEBHOOK_LATENCY_BUCKETS,
)
WEBHOOK_IN_FLIGHT: Final = observability.gauge(
    "controller_runtime_webhook_requests_in_flight",
    "Requests to a webhook path being answered now.",
    ["webhook"],
)
