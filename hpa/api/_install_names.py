"""The names and ports of hpa's own objects, which the install writes and the process uses.

``hpa.manifests`` creates these objects and the running process finds them by the same names:
the Service its serving certificate names, the Secret that holds its certificates, the webhook
configurations it writes its CA into, the Lease it leads with, the ports and paths it serves.
They live here, below both, so that neither imports the other for a name.
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

WEBHOOK_PORT: Final = 9443
METRICS_PORT: Final = 8080
HEALTH_PORT: Final = 8081

#: The paths of hpa's webhooks, served by the admission server and named by the configurations.
PATH_MUTATE_PODS: Final = "/mutate-pods"
PATH_VALIDATE_PODS: Final = "/validate-pods"
PATH_VALIDATE_RESOURCES: Final = "/validate-hostport-rmb938-com"
