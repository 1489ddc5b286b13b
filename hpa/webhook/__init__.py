"""The admission webhook for pods and hpa's own kinds, and every HTTP server hpa runs.

Reviews are decoded (``_decoding``), handed to a handler (``_handling`` contract: pod mutation,
pod validation, custom resource validation) that reads cluster state through narrow Protocols
(``_readers``), and answered with builders (``_responses``). :class:`AdmissionServer` serves
them over HTTPS; :class:`MetricsServer` and :class:`HealthServer` serve /metrics and probes;
all three hold clients to :class:`Limits` (a cap on connections, timeouts for stalled clients).
Its certificate comes from :class:`CertProvisioner` (own CA, shared Secret, rotation) or
:class:`CertDirectory` (files from cert-manager), loaded into :class:`ServingTLS` live.
"""

from hpa.webhook._admission import AdmissionServer, handlers, review_with
from hpa.webhook._certfiles import CertDirectory
from hpa.webhook._certificates import KeyPair, new_ca, new_serving
from hpa.webhook._connections import Limits
from hpa.webhook._decoding import MAX_BODY_BYTES, decode_review
from hpa.webhook._errors import BadObject, MalformedReview, WebhookError
from hpa.webhook._exposition import MetricsServer
from hpa.webhook._handling import Handler, decode_object
from hpa.webhook._health import Checks, HealthServer
from hpa.webhook._podmutation import PodMutator
from hpa.webhook._podvalidation import PodValidator
from hpa.webhook._provisioning import (
    CA_BUNDLE,
    CA_KEY,
    TLS_CERT,
    TLS_KEY,
    CertProvisioner,
    CertStore,
    Clock,
    ServingNames,
    Stored,
    SystemClock,
)
from hpa.webhook._readers import (
    ClaimProvisioner,
    ClaimReader,
    ClassReader,
    NamespaceReader,
    QuotaReader,
)
from hpa.webhook._resources import ResourceValidator
from hpa.webhook._responses import (
    MAX_MESSAGE_LENGTH,
    Problem,
    allowed,
    denied,
    denied_for,
    encode_review,
    patched,
)
from hpa.webhook._reviews import AdmissionRequest, AdmissionResponse
from hpa.webhook._secretstore import SecretCertStore
from hpa.webhook._tls import ServingTLS

__all__ = [
    "CA_BUNDLE",
    "CA_KEY",
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_LENGTH",
    "TLS_CERT",
    "TLS_KEY",
    "AdmissionRequest",
    "AdmissionResponse",
    "AdmissionServer",
    "BadObject",
    "CertDirectory",
    "CertProvisioner",
    "CertStore",
    "Checks",
    "ClaimProvisioner",
    "ClaimReader",
    "ClassReader",
    "Clock",
    "Handler",
    "HealthServer",
    "KeyPair",
    "Limits",
    "MalformedReview",
    "MetricsServer",
    "NamespaceReader",
    "PodMutator",
    "PodValidator",
    "Problem",
    "QuotaReader",
    "ResourceValidator",
    "SecretCertStore",
    "ServingNames",
    "ServingTLS",
    "Stored",
    "SystemClock",
    "WebhookError",
    "allowed",
    "decode_object",
    "decode_review",
    "denied",
    "denied_for",
    "encode_review",
    "handlers",
    "new_ca",
    "new_serving",
    "patched",
    "review_with",
]
