"""Admission for pods and hpa's own kinds: the reviews, their handlers and the server.

Reviews are decoded (``_decoding``), handed to a handler (``_handling`` contract: pod mutation,
pod validation, custom resource validation) that reads cluster state through narrow Protocols
(``_readers``) and makes its one write, a pod's own claim, through another (``_writers``), and
answered with builders (``_responses``). :class:`AdmissionServer` serves
them over HTTPS through ``hpa.serving``, with the certificate that ``hpa.certs`` keeps.
"""

from hpa.webhook._admission_server import AdmissionServer, handlers, review_with
from hpa.webhook._decoding import MAX_BODY_BYTES, decode_review
from hpa.webhook._handling import Handler, decode_object
from hpa.webhook._podmutation import PodMutator
from hpa.webhook._podvalidation import PodValidator
from hpa.webhook._readers import ClaimReader, ClassReader, NamespaceReader, QuotaReader
from hpa.webhook._resource_validation import ResourceValidator
from hpa.webhook._responses import (
    MAX_MESSAGE_LENGTH,
    Problem,
    allowed,
    denied,
    denied_for,
    encode_review,
    patched,
)
from hpa.webhook._review_errors import BadObject, MalformedReview, WebhookError
from hpa.webhook._reviews import AdmissionRequest, AdmissionResponse
from hpa.webhook._writers import ClaimProvisioner

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_LENGTH",
    "AdmissionRequest",
    "AdmissionResponse",
    "AdmissionServer",
    "BadObject",
    "ClaimProvisioner",
    "ClaimReader",
    "ClassReader",
    "Handler",
    "MalformedReview",
    "NamespaceReader",
    "PodMutator",
    "PodValidator",
    "Problem",
    "QuotaReader",
    "ResourceValidator",
    "WebhookError",
    "allowed",
    "decode_object",
    "decode_review",
    "denied",
    "denied_for",
    "encode_review",
    "handlers",
    "patched",
    "review_with",
]
