"""Label selectors (metav1.LabelSelector), and the one that says which namespaces hpa manages.

The install writes :data:`DEFAULT_NAMESPACE_SELECTOR` (or the one ``--namespace-label`` asks
for) into the pod webhooks' ``namespaceSelector``, and the running webhook checks each pod's
namespace against the same selector.
"""

from collections.abc import Mapping
from typing import Final

from hpa.api import _names, _wire

IN: Final = "In"
NOT_IN: Final = "NotIn"
EXISTS: Final = "Exists"
DOES_NOT_EXIST: Final = "DoesNotExist"


class Requirement(_wire.Wire, frozen=True, kw_only=True):
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


class LabelSelector(_wire.Wire, frozen=True, kw_only=True):
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
    match_labels={_names.NAMESPACE_LABEL: _names.NAMESPACE_LABEL_VALUE}
)
