"""Errors of the admission webhook.

::

    WebhookError
     ├─ MalformedReview      the HTTP body is no AdmissionReview v1: answered HTTP 400
     └─ BadObject            the review is fine, but its object does not decode as the kind it
                             names: answered 200 with allowed=false and code 400

A policy denial is no error: handlers return a denial built in ``_responses``.
"""


class WebhookError(Exception):
    """Base of the webhook's errors."""


class MalformedReview(WebhookError):
    """The request body is not an AdmissionReview v1 with a request and a uid."""


class BadObject(WebhookError):
    """The object under review cannot be read as the kind the review names."""
