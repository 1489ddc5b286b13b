"""Which namespaces the pod webhooks act on: those the namespace selector picks.

The webhook configurations carry the same selector as ``namespaceSelector``, so the API server
sends only pods of managed namespaces; the handlers check it again against the namespace cache
so that a configuration edited by hand, or an API server that ignores the selector, cannot make
the webhook act on a namespace it should leave alone.
"""

from hpa import api
from hpa.webhook import _readers as readers


def is_managed(
    reader: readers.NamespaceReader, selector: api.LabelSelector, namespace: str
) -> bool:
    """Whether the pod webhooks act on pods of ``namespace``.

    A namespace the cache does not hold yet (created a moment ago) counts as managed: the API
    server only sends a review after matching the webhook's own ``namespaceSelector`` against the
    namespace as it is now, which is fresher than the cache.
    """
    labels = reader.namespace_labels(namespace)
    return labels is None or selector.matches(labels)
