"""An in-process Kubernetes API server for tests and for trying hpa without a cluster.

:class:`Sandbox` serves discovery, OpenAPI v3, built-in kinds and CRD-defined resources over
HTTPS with bearer-token auth, with kube-apiserver's semantics for validation (schema and
CEL), optimistic concurrency, finalizers, garbage collection, list paging, watches (with
bookmarks and ``410 Gone``), patches, admission webhooks and ValidatingAdmissionPolicies,
object-count ResourceQuota and server-side printing, so that
real ``kubectl`` and the operator can use it. Test support only: the operator never imports it.
"""

from hpa.sandbox._calls import Call
from hpa.sandbox._errors import ApiError
from hpa.sandbox._faults import Faults, Rule
from hpa.sandbox._sandbox import Sandbox
from hpa.sandbox._server import Counters
from hpa.sandbox._tls import self_signed_certificate

__all__ = ["ApiError", "Call", "Counters", "Faults", "Rule", "Sandbox", "self_signed_certificate"]
