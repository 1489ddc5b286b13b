"""Builders of admission responses: allow, deny, patch (CR ``admission/response.go``).

Handlers return an :class:`reviews.AdmissionResponse` without ``uid``; the server fills it in
from the request (:func:`encode_review`), so no handler can echo the wrong one.

A denial names every problem found, up to :data:`MAX_MESSAGE_LENGTH` characters: past that it
counts the rest ("...; and 9,990 more problems"), in the message and in its field-level causes
alike. A pod with 10,000 raw host ports otherwise got a 1.7 MB message, which kubectl prints
whole and nobody reads past the first lines; fixing the first problems shows the next ones.
"""

from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from hpa.webhook import _json_patch as json_patch
from hpa.webhook import _reviews as reviews

REASON_FORBIDDEN: Final = "Forbidden"
REASON_INVALID: Final = "Invalid"
REASON_BAD_REQUEST: Final = "BadRequest"
REASON_INTERNAL: Final = "InternalError"

#: Longest denial message, in characters: about a screenful in a terminal, some five to ten
#: problems as hpa words them, and what an Event's note may hold (1 KiB), should a controller
#: that is refused put the message into one.
MAX_MESSAGE_LENGTH: Final = 1024


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One reason to deny: the field at fault and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def allowed(*, warnings: Iterable[str] = ()) -> reviews.AdmissionResponse:
    """Allow the request unchanged."""
    return reviews.AdmissionResponse(allowed=True, warnings=tuple(warnings))


def denied(
    message: str,
    *,
    code: int = 403,
    reason: str = REASON_FORBIDDEN,
    problems: Sequence[Problem] = (),
    warnings: Iterable[str] = (),
) -> reviews.AdmissionResponse:
    """Deny the request; ``message`` is what the user reads in kubectl's error (cut at
    :data:`MAX_MESSAGE_LENGTH` characters, as is each cause's)."""
    message = _clip(message, MAX_MESSAGE_LENGTH)
    details = None
    if problems:
        causes = tuple(
            reviews.StatusCause(
                reason="FieldValueInvalid",
                message=_clip(p.message, MAX_MESSAGE_LENGTH),
                field=p.field,
            )
            for p in problems
        )
        details = reviews.StatusDetails(causes=causes)
    status = reviews.Status(code=code, message=message, reason=reason, details=details)
    return reviews.AdmissionResponse(allowed=False, status=status, warnings=tuple(warnings))


def denied_for(
    problems: Sequence[Problem],
    *,
    code: int = 403,
    reason: str = REASON_FORBIDDEN,
    warnings: Iterable[str] = (),
) -> reviews.AdmissionResponse:
    """Deny the request for every problem found, named in one message of at most
    :data:`MAX_MESSAGE_LENGTH` characters that counts those it has no room for."""
    message, shown = _summary(problems)
    return denied(message, code=code, reason=reason, problems=shown, warnings=warnings)


def _more(count: int) -> str:
    if not count:
        return ""
    return f"; and {count:,} more problem{'s' if count > 1 else ''}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(problems: Sequence[Problem]) -> tuple[str, Sequence[Problem]]:
    """The message naming as many of ``problems`` as fit, and the problems it names."""
    texts: list[str] = []
    length = -2  # no separator before the first
    for problem in problems:
        text = str(problem)
        length += 2 + len(text)
        if length + len(_more(len(problems) - len(texts) - 1)) > MAX_MESSAGE_LENGTH:
            break
        texts.append(text)
    if not texts and problems:  # the first problem alone is too long: cut it, keep the count
        texts = [_clip(str(problems[0]), MAX_MESSAGE_LENGTH - len(_more(len(problems) - 1)))]
    return "; ".join(texts) + _more(len(problems) - len(texts)), problems[: len(texts)]


def patched(
    operations: list[json_patch.Operation], *, warnings: Iterable[str] = ()
) -> reviews.AdmissionResponse:
    """Allow the request with a JSON patch applied (allow unchanged if there is none)."""
    if not operations:
        return allowed(warnings=warnings)
    return reviews.AdmissionResponse(
        allowed=True,
        patch=json_patch.encode(operations),
        patch_type=reviews.PATCH_TYPE_JSON,
        warnings=tuple(warnings),
    )


_encoder: Final = msgspec.json.Encoder()


def encode_review(uid: str, response: reviews.AdmissionResponse) -> bytes:
    """The AdmissionReview answering the request ``uid``, as JSON."""
    response = msgspec.structs.replace(response, uid=uid)
    review = reviews.AdmissionReviewResponse(
        api_version=reviews.API_VERSION, kind=reviews.KIND, response=response
    )
    return _encoder.encode(review)
