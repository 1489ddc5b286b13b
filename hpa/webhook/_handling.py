"""The handler contract: what the server calls for each review (CR ``admission/webhook.go``).

A handler gets a decoded request and returns a response built with ``_responses``. It denies
by returning a denial, never by raising; it raises :class:`errors.BadObject` when the object
under review cannot be read (answered as a denial with code 400). Any other exception is a bug:
the server logs it and denies with code 500, so the HTTP answer stays a well-formed review.
"""

from typing import Protocol, TypeVar

import msgspec

from hpa.webhook import _decoding as decoding
from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews

_T = TypeVar("_T")


class Handler(Protocol):
    """Reviews one admission request."""

    async def __call__(self, request: reviews.AdmissionRequest, /) -> reviews.AdmissionResponse:
        """The verdict on ``request``.

        Raises:
            BadObject: ``request.object`` or ``request.oldObject`` is not of the expected kind.
        """
        ...


def decode_object(raw: msgspec.Raw, type_: type[_T], *, what: str = "object") -> _T | None:
    """``object`` or ``oldObject`` of a request as ``type_``; None when it is null/absent.

    Raises:
        BadObject: the JSON does not match ``type_`` or cannot be decoded at all (see
            :func:`decoding.decode_json`).
    """
    if not raw or bytes(raw) == b"null":
        return None
    try:
        return decoding.decode_json(raw, type_)
    except msgspec.DecodeError as exc:
        raise errors.BadObject(f"request.{what} is not a valid {type_.__name__}: {exc}") from exc
