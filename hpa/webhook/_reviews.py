"""Wire types of ``admission.k8s.io/v1`` AdmissionReview, as the API server sends and reads them.

Decoding is tolerant: unknown fields are ignored (a newer API server may add some), every field
but ``uid`` has a default, and ``object``/``oldObject``/``options`` stay raw JSON
(:class:`msgspec.Raw`) so that each handler decodes only the kind it knows, into its own
projection, and a review for a kind nobody reads costs no decoding at all.
"""

from typing import Final

import msgspec

from hpa import api

API_VERSION: Final = "admission.k8s.io/v1"
KIND: Final = "AdmissionReview"

CREATE: Final = "CREATE"
UPDATE: Final = "UPDATE"
DELETE: Final = "DELETE"
CONNECT: Final = "CONNECT"

PATCH_TYPE_JSON: Final = "JSONPatch"


class GroupVersionKind(api.Wire, frozen=True, kw_only=True):
    """``kind`` and ``requestKind`` of a request."""

    group: str = ""
    version: str = ""
    kind: str = ""


class GroupVersionResource(api.Wire, frozen=True, kw_only=True):
    """``resource`` and ``requestResource`` of a request."""

    group: str = ""
    version: str = ""
    resource: str = ""


class UserInfo(api.Wire, frozen=True, kw_only=True):
    """Who made the request."""

    username: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = {}


class AdmissionRequest(api.Wire, frozen=True, kw_only=True):
    """``request`` of an AdmissionReview: the operation and the objects it is about."""

    uid: str
    kind: GroupVersionKind = GroupVersionKind()
    resource: GroupVersionResource = GroupVersionResource()
    sub_resource: str = ""
    request_kind: GroupVersionKind | None = None
    request_resource: GroupVersionResource | None = None
    request_sub_resource: str = ""
    name: str = ""
    namespace: str = ""
    operation: str = ""
    user_info: UserInfo = UserInfo()
    object: msgspec.Raw = msgspec.Raw(b"null")
    old_object: msgspec.Raw = msgspec.Raw(b"null")
    dry_run: bool | None = None
    options: msgspec.Raw = msgspec.Raw(b"null")


class StatusCause(api.Wire, frozen=True, kw_only=True):
    """One field-level reason for a denial."""

    reason: str = ""
    message: str = ""
    field: str = ""


class StatusDetails(api.Wire, frozen=True, kw_only=True):
    """``status.details``: the field-level causes of a denial."""

    causes: tuple[StatusCause, ...] = ()


class Status(api.Wire, frozen=True, kw_only=True):
    """``response.status`` (a metav1.Status): why a request was denied."""

    code: int = 0
    message: str = ""
    reason: str = ""
    details: StatusDetails | None = None


class AdmissionResponse(api.Wire, frozen=True, kw_only=True):
    """``response`` of an AdmissionReview: the verdict, and for a mutation its patch."""

    uid: str = ""
    allowed: bool
    status: Status | None = None
    #: A JSON patch (RFC 6902), as bytes: msgspec encodes ``bytes`` as base64, as the API wants.
    patch: bytes | None = None
    patch_type: str | None = None
    audit_annotations: dict[str, str] = {}
    warnings: tuple[str, ...] = ()


class AdmissionReviewRequest(api.Wire, frozen=True, kw_only=True):
    """An AdmissionReview as received; ``request`` is required."""

    api_version: str = ""
    kind: str = ""
    request: AdmissionRequest | None = None


class AdmissionReviewResponse(api.Wire, frozen=True, kw_only=True):
    """An AdmissionReview as answered; apiVersion and kind have no default, so that
    ``omit_defaults`` cannot leave them out."""

    api_version: str
    kind: str
    response: AdmissionResponse
