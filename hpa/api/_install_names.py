"""What the install writes and the running process must agree on: names, ports, paths.

``hpa.manifests`` creates hpa's objects and the running process finds them by the same names:
the Service its serving certificate names, the Secret that holds its certificates, the webhook
configurations it writes its CA into, the Lease it leads with; the Deployment declares the
ports, probes and variables the process serves and reads. They live here, below both, so that
neither imports the other for a name.
"""

from typing import Final

#: hpa's Deployment, ServiceAccount and roles, and the ``app.kubernetes.io/name`` label of what
#: it installs and creates.
APP_NAME: Final = "hpa"
#: hpa's own namespace, unless the install or ``--namespace`` says otherwise.
DEFAULT_NAMESPACE: Final = "hpa-system"
#: The leader-election Lease (the Role grants only this one).
LEASE_NAME: Final = "hpa-leader"
#: The Service in front of the admission server; its DNS names go into the certificate.
WEBHOOK_SERVICE: Final = "hpa-webhook"
#: The Secret of hpa's own CA and serving certificate, shared by every replica.
WEBHOOK_SECRET: Final = "hpa-webhook-tls"
#: The webhook configurations, whose ``caBundle`` hpa keeps current.
MUTATING_CONFIGURATION: Final = "hpa-mutating"
VALIDATING_CONFIGURATION: Final = "hpa-validating"

#: The Service's port in front of the admission server (the API server calls it there).
WEBHOOK_SERVICE_PORT: Final = 443
#: The ports the process serves on, which the Deployment declares.
WEBHOOK_PORT: Final = 9443
METRICS_PORT: Final = 8080
HEALTH_PORT: Final = 8081
#: The paths of the kubelet's probes and of Prometheus' scrape.
PATH_LIVENESS: Final = "/healthz"
PATH_READINESS: Final = "/readyz"
PATH_METRICS: Final = "/metrics"

#: The paths of hpa's webhooks, served by the admission server and named by the configurations.
PATH_MUTATE_PODS: Final = "/mutate-pods"
PATH_VALIDATE_PODS: Final = "/validate-pods"
PATH_VALIDATE_RESOURCES: Final = "/validate-hostport-rmb938-com"

#: The variables the Deployment sets for ``hpa run`` (every flag has one, ``HPA_`` and its name;
#: these are the ones the install writes).
ENV_NAMESPACE: Final = "HPA_NAMESPACE"
ENV_LOG_FORMAT: Final = "HPA_LOG_FORMAT"
ENV_NAMESPACE_LABEL: Final = "HPA_NAMESPACE_LABEL"
ENV_LEASE_NAME: Final = "HPA_LEASE_NAME"
ENV_ALLOW_HOST_NETWORK: Final = "HPA_ALLOW_HOST_NETWORK"
