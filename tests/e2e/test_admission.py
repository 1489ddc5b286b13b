"""What tenants see at the door: pods take host ports only through claims."""

import json
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Cluster, ensure_service_account, eventually

pytestmark = pytest.mark.e2e


def _pod(name: str, namespace: str, *, host_port: int = 0, claim: str = "") -> str:
    port: dict[str, object] = {"name": "web", "containerPort": 8080}
    if host_port:
        port["hostPort"] = host_port
    metadata: dict[str, object] = {"name": name, "namespace": namespace}
    if claim:
        metadata["annotations"] = {"claim.hostport.rmb938.com/web": claim}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {"containers": [{"name": "app", "image": "busybox", "ports": [port]}]},
        }
    )


def _class(name: str, start: int, end: int) -> str:
    return json.dumps(
        {
            "apiVersion": "hostport.rmb938.com/v1alpha1",
            "kind": "HostPortClass",
            "metadata": {"name": name},
            "spec": {"pools": [{"start": start, "end": end}]},
        }
    )


def _claim(name: str, namespace: str, cls: str) -> str:
    return json.dumps(
        {
            "apiVersion": "hostport.rmb938.com/v1alpha1",
            "kind": "HostPortClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"hostPortClassName": cls},
        }
    )


def test_raw_host_port_is_denied(cluster: Cluster, namespace: str) -> None:
    """A pod that asks for a hostPort without a claim is refused with the fix in the message."""
    result = cluster.kubectl(
        "apply", "-f", "-", input=_pod("raw", namespace, host_port=8080), check=False
    )
    assert result.returncode != 0
    assert "hostPort" in result.stderr and "HostPortClaim" in result.stderr


def test_unmanaged_namespace_is_untouched(cluster: Cluster, unique: Callable[[str], str]) -> None:
    """Outside labelled namespaces hpa neither denies nor mutates pods."""
    name = unique("plain")
    cluster.kubectl("create", "namespace", name)
    ensure_service_account(cluster, name)
    try:
        cluster.kubectl("apply", "-f", "-", input=_pod("raw", name, host_port=8080))
        ports = cluster.jsonpath(
            "pod", "raw", "-n", name, path="{.spec.containers[0].ports[0].hostPort}"
        )
        assert ports == "8080"
        labels = cluster.jsonpath("pod", "raw", "-n", name, path="{.metadata.labels}")
        assert "hostport.rmb938.com" not in labels
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_unknown_claim_is_denied(cluster: Cluster, namespace: str) -> None:
    """A pod naming a claim that does not exist is refused, naming the claim."""
    result = cluster.kubectl(
        "apply", "-f", "-", input=_pod("p", namespace, claim="nope"), check=False
    )
    assert result.returncode != 0
    assert "nope" in result.stderr


def test_full_class_leaves_claims_pending_until_one_is_freed(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """With a one-port class the second claim waits (ClassFull), and binds when the first goes."""
    cls = unique("tiny")
    port = 20000 + int(cls[-4:], 16) % 20000  # a port of its own on a shared cluster
    cluster.kubectl("apply", "-f", "-", input=_class(cls, port, port))
    try:
        cluster.kubectl("apply", "-f", "-", input=_claim("first", namespace, cls))
        cluster.kubectl(
            "wait",
            "--for=jsonpath={.status.phase}=Bound",
            "hpc/first",
            "-n",
            namespace,
            "--timeout=60s",
        )
        cluster.kubectl("apply", "-f", "-", input=_claim("second", namespace, cls))
        reason = "{.status.conditions[?(@.type=='Bound')].reason}"
        eventually(
            lambda: cluster.jsonpath("hpc", "second", "-n", namespace, path=reason) == "ClassFull"
        )

        def class_full_event() -> bool:
            events = cluster.kubectl(
                "get",
                "events",
                "-n",
                namespace,
                "--field-selector=involvedObject.name=second",
                "-o=jsonpath={.items[*].reason} {.items[*].message}",
            ).stdout
            return "ClassFull" in events and cls in events

        # The Event is written just after the status: wait for it too.
        eventually(class_full_event)
        cluster.kubectl("delete", "hpc", "first", "-n", namespace)
        cluster.kubectl(
            "wait",
            "--for=jsonpath={.status.phase}=Bound",
            "hpc/second",
            "-n",
            namespace,
            "--timeout=60s",
        )
        assert cluster.jsonpath("hpc", "second", "-n", namespace, path="{.status.port}") == str(
            port
        )
    finally:
        cluster.kubectl("delete", "hpc", "--all", "-n", namespace, "--wait=false", check=False)
        cluster.kubectl("delete", "hpcl", cls, "--wait=false", check=False)


def test_claim_in_use_is_kept_until_its_pod_is_gone(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """Deleting a claim that a pod uses waits for the pod; then the claim and its port go."""
    cls = unique("inuse")
    port = 40000 + int(cls[-4:], 16) % 20000
    cluster.kubectl("apply", "-f", "-", input=_class(cls, port, port))
    try:
        cluster.kubectl("apply", "-f", "-", input=_claim("web", namespace, cls))
        cluster.kubectl(
            "wait",
            "--for=jsonpath={.status.phase}=Bound",
            "hpc/web",
            "-n",
            namespace,
            "--timeout=60s",
        )
        cluster.kubectl("apply", "-f", "-", input=_pod("user", namespace, claim="web"))
        cluster.kubectl("delete", "hpc", "web", "-n", namespace, "--wait=false")
        eventually(
            lambda: cluster.jsonpath(
                "hpc", "web", "-n", namespace, path="{.metadata.deletionTimestamp}"
            )
        )
        assert cluster.jsonpath("hp", f"port-{port}", path="{.metadata.name}") == f"port-{port}"
        cluster.kubectl("delete", "pod", "user", "-n", namespace, "--grace-period=0", "--force")
        eventually(
            lambda: (
                cluster.kubectl("get", "hpc", "web", "-n", namespace, check=False).returncode != 0
            )
        )
        eventually(
            lambda: cluster.kubectl("get", "hp", f"port-{port}", check=False).returncode != 0
        )
    finally:
        cluster.kubectl("delete", "hpcl", cls, "--wait=false", check=False)


def test_claim_annotations_and_label_cannot_change(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """A pod keeps the claim annotations and the label hpa gave it at CREATE; other metadata
    may change. Pod UPDATEs never reach hpa: the API server's own policy refuses these."""
    cls = unique("frozen")
    port = 40000 + int(cls[-4:], 16) % 20000
    cluster.kubectl("apply", "-f", "-", input=_class(cls, port, port))
    try:
        cluster.kubectl("apply", "-f", "-", input=_claim("web", namespace, cls))
        cluster.kubectl("wait", "--for=jsonpath={.status.phase}=Bound", "hpc/web", "-n", namespace)
        cluster.kubectl("apply", "-f", "-", input=_pod("user", namespace, claim="web"))
        pod = ("pod", "user", "-n", namespace)
        unlabelled = cluster.kubectl("label", *pod, "hostport.rmb938.com/uses-claims-", check=False)
        assert unlabelled.returncode != 0 and "cannot change" in unlabelled.stderr
        other = "claim.hostport.rmb938.com/web=other"
        changed = cluster.kubectl("annotate", *pod, "--overwrite", other, check=False)
        assert changed.returncode != 0 and "cannot change" in changed.stderr
        cluster.kubectl("label", *pod, "team=games")
        cluster.kubectl("delete", *pod, "--grace-period=0", "--force")
    finally:
        cluster.kubectl("delete", "hpc", "web", "-n", namespace, "--wait=false", check=False)
        cluster.kubectl("delete", "hpcl", cls, "--wait=false", check=False)


def test_dry_run_of_a_template_pod_makes_no_claim(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """A server-side dry run of a pod with a template annotation succeeds, warns which claim
    the real request makes, and makes none."""
    cls = unique("dry")
    port = 40000 + int(cls[-4:], 16) % 20000
    cluster.kubectl("apply", "-f", "-", input=_class(cls, port, port))
    try:
        pod = json.loads(_pod("dry-0", namespace))
        pod["metadata"]["annotations"] = {"template.hostport.rmb938.com/web": cls}
        result = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(pod))
        assert "HostPortClaim" in result.stderr and "dry run" in result.stderr
        assert cluster.kubectl("get", "hpc", "dry-0-web", "-n", namespace, check=False).returncode
        assert cluster.kubectl("get", "hp", f"port-{port}", check=False).returncode
    finally:
        cluster.kubectl("delete", "hpcl", cls, "--wait=false", check=False)


def test_tcp_and_udp_ports_share_one_claim(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """A pod's tcp and udp ports may name one claim: the pod is admitted, both with its port."""
    cls = unique("voip")
    port = 40000 + int(cls[-4:], 16) % 20000
    cluster.kubectl("apply", "-f", "-", input=_class(cls, port, port))
    try:
        cluster.kubectl("apply", "-f", "-", input=_claim("sip", namespace, cls))
        cluster.kubectl("wait", "--for=jsonpath={.status.phase}=Bound", "hpc/sip", "-n", namespace)
        pod = json.loads(_pod("voip", namespace, claim="sip"))
        pod["metadata"]["annotations"] = {
            "claim.hostport.rmb938.com/tcp": "sip",
            "claim.hostport.rmb938.com/udp": "sip",
        }
        pod["spec"]["containers"][0]["ports"] = [
            {"name": "tcp", "containerPort": 5060, "protocol": "TCP"},
            {"name": "udp", "containerPort": 5060, "protocol": "UDP"},
        ]
        cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
        ports = cluster.jsonpath(
            "pod", "voip", "-n", namespace, path="{.spec.containers[0].ports[*].hostPort}"
        )
        assert ports.split() == [str(port), str(port)]
        cluster.kubectl("delete", "pod", "voip", "-n", namespace, "--grace-period=0", "--force")
    finally:
        cluster.kubectl("delete", "hpc", "sip", "-n", namespace, "--wait=false", check=False)
        cluster.kubectl("delete", "hpcl", cls, "--wait=false", check=False)
