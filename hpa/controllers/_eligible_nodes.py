"""Which nodes a per-node class may use, and how many: its capacity is pools times that
count.

A node is eligible when it has every label of the class's ``nodeSelector`` (matchLabels) and
is not cordoned (``spec.unschedulable``): the scheduler places no new pod on a cordoned node,
so counting it would promise a port no pod could use. Cordoning a node drops the capacity of
each per-node class it served; a bound port is never taken back (docs/per-node.md).
"""

from collections.abc import Iterable, Mapping

from hpa import api, index, kube


def eligible(node: kube.Node, selector: Mapping[str, str]) -> bool:
    """Whether a per-node class with this ``nodeSelector`` may count ``node``."""
    labels = node.metadata.labels
    return not node.spec.unschedulable and all(labels.get(k) == v for k, v in selector.items())


def count(nodes: Iterable[kube.Node], selector: Mapping[str, str]) -> int:
    """How many of ``nodes`` are eligible."""
    return sum(1 for node in nodes if eligible(node, selector))


def of_class(caches: kube.Caches, cls: api.HostPortClass) -> int | None:
    """A class's eligible node count, as the index takes it: None for a cluster-wide class."""
    if not cls.spec.per_node:
        return None
    return min(count(caches.nodes(), cls.spec.node_selector), index.SLOT_MAX + 1)
