"""The README's StatefulSet example: a port per pod, released as its annotations say.

It needs a statefulset controller and a garbage collector: kube-controller-manager's on a
cluster, the sandbox's own on ``hpa sandbox``.
"""

import json
import re
from collections.abc import Callable

import pytest

from tests.backends import REPO_ROOT
from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e


def readme_statefulset() -> str:
    """The StatefulSet manifest of the README's "A port per StatefulSet pod" example."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("**A port per StatefulSet pod**", 1)[1]
    found = re.search(r"<<'EOF'\n(.*?kind: StatefulSet.*?)\nEOF\n", section, re.S)
    assert found, "the README's StatefulSet example has moved"
    return found.group(1)


def _claims(cluster: Cluster, namespace: str) -> dict[str, str]:
    """The StatefulSet's claims (name to port, "" while unbound)."""
    listed = cluster.kubectl(
        "get", "hpc", "-n", namespace, "-l", "hostport.rmb938.com/statefulset=game", "-o", "json"
    ).stdout
    return {
        item["metadata"]["name"]: str(item.get("status", {}).get("port", ""))
        for item in json.loads(listed)["items"]
    }


def _event_reasons(
    cluster: Cluster, namespace: str, kind: str, names: set[str] | None = None
) -> list[str]:
    """The reasons of the Events about objects of ``kind`` (named one of ``names``)."""
    listed = cluster.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        f"--field-selector=involvedObject.kind={kind}",
        "-o",
        "json",
    ).stdout
    items = json.loads(listed)["items"]
    return [e["reason"] for e in items if names is None or e["involvedObject"]["name"] in names]


def _host_port(cluster: Cluster, namespace: str, pod: str) -> str:
    return cluster.jsonpath(
        "pod", pod, "-n", namespace, path="{.spec.containers[0].ports[0].hostPort}"
    )


def test_readme_statefulset_gets_a_port_per_pod_and_releases_them(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """Each of the 3 pods gets its own claim's port; scale-down and deletion release them."""
    cls = unique("game")
    start = 20000 + int(cls[-4:], 16) % 20000
    pools = {"pools": [{"start": start, "end": start + 2}]}
    manifest = {"apiVersion": "hostport.rmb938.com/v1alpha1", "kind": "HostPortClass"}
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({**manifest, "metadata": {"name": cls}, "spec": pools})
    )
    statefulset = (
        readme_statefulset()
        .replace("namespace: default", f"namespace: {namespace}")
        .replace(
            "template.hostport.rmb938.com/udp: sample", f"template.hostport.rmb938.com/udp: {cls}"
        )
    )
    try:
        cluster.kubectl("apply", "-f", "-", input=statefulset)
        names = {f"game-{i}-udp" for i in range(3)}
        claims = eventually(
            lambda: (c := _claims(cluster, namespace)).keys() == names and all(c.values()) and c,
            within=90,
        )
        assert sorted(claims.values()) == [str(start + i) for i in range(3)]
        # Bound once each, by the webhook alone: no port was allocated twice and given back.
        bound = _event_reasons(cluster, namespace, "HostPortClaim")
        assert sorted(bound) == ["Bound"] * 3
        ports = {f"port-{start + i}" for i in range(3)}
        assert "Released" not in _event_reasons(cluster, "default", "HostPort", ports)
        for i in range(3):
            eventually(
                lambda i=i: _host_port(cluster, namespace, f"game-{i}") == claims[f"game-{i}-udp"]
            )
        cluster.kubectl("scale", "statefulset", "game", "-n", namespace, "--replicas=1")
        eventually(
            lambda: _claims(cluster, namespace) == {"game-0-udp": claims["game-0-udp"]}, within=90
        )
        cluster.kubectl("delete", "statefulset", "game", "-n", namespace)
        eventually(lambda: _claims(cluster, namespace) == {}, within=90)
    finally:
        cluster.kubectl(
            "delete", "statefulset", "game", "-n", namespace, "--wait=false", check=False
        )
        cluster.kubectl("delete", "hostportclass", cls, "--wait=false", check=False)
