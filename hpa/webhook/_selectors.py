"""Label selectors (metav1.LabelSelector) that decide which namespaces the pod webhooks manage.

The webhook configurations carry the same selector as ``namespaceSelector``, so the API server
sends only pods of managed namespaces; the handlers check it again against the namespace cache
so that a configuration edited by hand, or an API server that ignores the selector, cannot make
the webhook act on a namespace it should leave alone.
"""

from collections.abc import Mapping
from typing import Final

import msgspec

from hpa import api
from hpa.webhook import _readers as readers

IN: Final = "In"
NOT_IN: Final = "NotIn"
EXISTS: Final = "Exists"
DOES_NOT_EXIST: Final = "DoesNotExist"


class Requirement(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """One ``matchExpressions`` entry."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        if self.operator == IN:
            return labels.get(self.key) in self.values
        if self.operator == NOT_IN:
            return labels.get(self.key) not in self.values
        if self.operator == EXISTS:
            return self.key in labels
        if self.operator == DOES_NOT_EXIST:
            return self.key not in labels
        return False


class LabelSelector(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """``matchLabels`` and ``matchExpressions``, all of which must hold."""

    match_labels: dict[str, str] = {}
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` are selected."""
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )


#: The namespaces the Go original manages: those labelled ``hostport.rmb938.com: "true"``.
DEFAULT_NAMESPACE_SELECTOR: Final = LabelSelector(
    match_labels={api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE}
)


def is_managed(reader: readers.NamespaceReader, selector: LabelSelector, namespace: str) -> bool:
    """Whether the pod webhooks act on pods of ``namespace``.

    A namespace the cache does not hold yet (created a moment ago) counts as managed: the API
    server only sends a review after matching the webhook's own ``namespaceSelector`` against the
    namespace as it is now, which is fresher than the cache.
    """
    labels = reader.namespace_labels(namespace)
    return labels is None or selector.matches(labels)
