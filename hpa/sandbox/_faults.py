"""Fault injection for tests: failing, slow or hanging requests, dropped watches, 410s.

Rules match requests by verb (``get``, ``list``, ``watch``, ``create``, ``update``,
``patch``, ``delete``, ``deletecollection``), resource (plural, optionally
``plural/subresource``), namespace, name or any predicate of the call, and apply a limited
number of ``times`` (``None``: until :meth:`Faults.clear`). The first matching rule wins.
"""

import dataclasses
import math
from collections.abc import Callable

from hpa.sandbox import _calls, _errors

Predicate = Callable[[_calls.Call], bool]


@dataclasses.dataclass(kw_only=True)
class Rule:
    """One injected fault."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    predicate: Predicate | None = None
    #: HTTP status to answer (429 and 5xx get kube's reasons); ``None`` to only delay.
    status: int | None = 500
    #: Seconds to wait before answering (``math.inf``: hang until the client gives up).
    delay: float = 0.0
    times: int | None = 1
    #: How many requests this rule has hit.
    hits: int = 0

    def matches(self, call: _calls.Call) -> bool:
        """Whether a request matches this rule (and the rule is not used up)."""
        if self.times is not None and self.hits >= self.times:
            return False
        resource = call.resource.plural
        if call.subresource:
            resource_sub = f"{resource}/{call.subresource}"
            if self.resource not in (None, resource_sub):
                return False
        elif self.resource not in (None, resource):
            return False
        return (
            self.verb in (None, call.verb)
            and self.namespace in (None, call.namespace)
            and self.name in (None, call.name)
            and (self.predicate is None or self.predicate(call))
        )

    def error(self) -> _errors.ApiError | None:
        """The error to answer with, if any."""
        if self.status is None:
            return None
        if self.status == 429:
            return _errors.too_many_requests()
        if self.status == 504:
            return _errors.ApiError(504, "Timeout", "the server was unable to respond in time")
        if self.status == 503:
            return _errors.ApiError(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        if self.status == 409:
            return _errors.ApiError(409, "Conflict", "injected conflict")
        if self.status == 410:
            return _errors.gone("injected: too old resource version")
        return _errors.internal("injected internal error", code=self.status)


class Faults:
    """The fault-injection API of a sandbox (``sandbox.faults``)."""

    def __init__(self, *, drop_watches: Callable[[], None], expire: Callable[[], None]) -> None:
        self.rules: list[Rule] = []
        self._drop_watches = drop_watches
        self._expire = expire

    def fail(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        status: int = 500,
        times: int | None = 1,
        namespace: str | None = None,
        name: str | None = None,
        predicate: Predicate | None = None,
    ) -> Rule:
        """Answer matching requests with ``status`` (e.g. 429, 500, 503)."""
        rule = Rule(verb=verb, resource=resource, status=status, times=times,
                    namespace=namespace, name=name, predicate=predicate)  # fmt: skip
        self.rules.append(rule)
        return rule

    def hang(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        seconds: float = math.inf,
        times: int | None = 1,
        predicate: Predicate | None = None,
        then_status: int | None = 504,
    ) -> Rule:
        """Delay matching requests by ``seconds`` (forever by default), then answer 504."""
        rule = Rule(verb=verb, resource=resource, delay=seconds, times=times,
                    predicate=predicate, status=then_status)  # fmt: skip
        self.rules.append(rule)
        return rule

    def delay(
        self, *, verb: str | None = None, resource: str | None = None, seconds: float,
        times: int | None = None,
    ) -> Rule:  # fmt: skip
        """Slow matching requests down by ``seconds``, then serve them normally."""
        rule = Rule(verb=verb, resource=resource, delay=seconds, times=times, status=None)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def drop_watches(self) -> None:
        """End every open watch stream, as an API server restart does."""
        self._drop_watches()

    def expire_watch_window(self) -> None:
        """Forget the event history: resuming any earlier version answers 410 Gone."""
        self._expire()

    def match(self, call: _calls.Call) -> Rule | None:
        """The rule to apply to a request (counted as a hit), if any."""
        for rule in self.rules:
            if rule.matches(call):
                rule.hits += 1
                return rule
        return None
