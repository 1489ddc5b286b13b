"""What the shipped Deployment imposes on hpa's container, read from the generated install.

The test derives its jail from here, so a change to the Deployment (a volume, a variable, a
user) changes what the test runs; a field the test cannot reproduce fails it loudly instead of
being ignored.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

Document = Mapping[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Container:
    """The parts of hpa's container spec that shape its process."""

    namespace: str
    pod_name: str
    read_only_root: bool
    uid: int
    gid: int
    no_new_privileges: bool
    drop_all_capabilities: bool
    #: Where the Deployment mounts volumes: the only writable places in the container.
    writable_paths: tuple[str, ...]
    args: tuple[str, ...]
    env: Mapping[str, str]


def container(documents: Iterable[Document]) -> Container:
    """The hpa container of the one Deployment in ``documents``.

    Raises:
        AssertionError: no single Deployment, or a field this test cannot reproduce.
    """
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert len(deployments) == 1, f"expected one Deployment, found {len(deployments)}"
    deployment = deployments[0]
    namespace = deployment["metadata"]["namespace"]
    pod_spec = deployment["spec"]["template"]["spec"]
    (spec,) = pod_spec["containers"]
    # The image's ENTRYPOINT (Containerfile) is `hpa`, which the test runs with the args.
    assert "command" not in spec, "the test runs the image's entrypoint (`hpa`) only"
    pod_security = pod_spec.get("securityContext", {})
    security = spec.get("securityContext", {})
    pod_name = f"{deployment['metadata']['name']}-0"
    return Container(
        namespace=namespace,
        pod_name=pod_name,
        read_only_root=bool(security.get("readOnlyRootFilesystem", False)),
        uid=_identity(security, pod_security, "runAsUser"),
        gid=_identity(security, pod_security, "runAsGroup"),
        no_new_privileges=security.get("allowPrivilegeEscalation") is False,
        drop_all_capabilities="ALL" in security.get("capabilities", {}).get("drop", []),
        writable_paths=tuple(m["mountPath"] for m in spec.get("volumeMounts", [])),
        args=tuple(spec.get("args", ())),
        env={
            item["name"]: _value(item, namespace=namespace, pod_name=pod_name)
            for item in spec.get("env", [])
        },
    )


def _identity(container: Document, pod: Document, field: str) -> int:
    """A container's setting wins over the pod's, as in Kubernetes."""
    value = container.get(field, pod.get(field))
    assert value is not None, f"the Deployment sets no {field}: the test would run as root"
    return int(value)


def _value(item: Document, *, namespace: str, pod_name: str) -> str:
    if "value" in item:
        return str(item["value"])
    source = item.get("valueFrom", {})
    fields = {"metadata.namespace": namespace, "metadata.name": pod_name}
    path = source.get("fieldRef", {}).get("fieldPath")
    assert path in fields, f"env {item['name']}: the test cannot resolve {source!r}"
    return fields[path]


def webhook_service(documents: Iterable[Document]) -> tuple[str, str, int]:
    """``(namespace, name, port)`` of the Service that the webhook configurations call."""
    services = {
        (s["namespace"], s["name"], int(s.get("port", 443)))
        for d in documents
        if d["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
        for hook in d.get("webhooks", [])
        if (s := hook["clientConfig"].get("service"))
    }
    assert len(services) == 1, f"expected one webhook Service, found {services}"
    return services.pop()


def managed_namespace_labels(documents: Iterable[Document]) -> dict[str, str]:
    """The labels that put a namespace under hpa's pod webhook (its ``namespaceSelector``)."""
    (mutating,) = [d for d in documents if d["kind"] == "MutatingWebhookConfiguration"]
    selectors = [hook.get("namespaceSelector", {}) for hook in mutating["webhooks"]]
    labels: dict[str, str] = {}
    for selector in selectors:
        labels.update(selector.get("matchLabels", {}))
    return labels
