"""The Mutating/ValidatingWebhookConfigurations that route reviews to hpa's handlers.

One source for the manifests and for registering the webhook with a test API server by URL;
``caBundle`` injection finds them by the names in ``hpa.api``. Pod webhooks fail closed (a pod
admitted while hpa is down would run without its host port, or with one nobody granted) and are
limited to managed namespaces by ``namespaceSelector``; the custom resource webhook fails open,
because the CRDs' CEL rules hold the same invariants in the API server and an hpa outage must
not block hpa's own writes.
"""

import base64
from typing import Any, Final

import msgspec

from hpa import api


def _any_host_port(field: str) -> str:
    """CEL: a container of ``object.spec.<field>`` asks for a host port."""
    containers = f"object.spec.{field}"
    return (
        f"(has({containers}) && {containers}.exists(c, has(c.ports) && "
        "c.ports.exists(p, has(p.hostPort) && p.hostPort != 0)))"
    )


def _any_annotation(*prefixes: str) -> str:
    """CEL: the object has an annotation with one of ``prefixes``."""
    starts = " || ".join(f"k.startsWith('{prefix}')" for prefix in prefixes)
    annotations = "object.metadata.annotations"
    return f"(has({annotations}) && {annotations}.exists(k, {starts}))"


#: Only pods that hpa has a say in reach its pod webhooks: those with one of its annotations or
#: its label, or asking for a host port or the host's network. Every other pod of a managed
#: namespace is admitted without a call to hpa, so it neither waits for hpa nor fails while
#: hpa is down. What must hold for every pod on UPDATE needs no other object: the
#: ValidatingAdmissionPolicy keeps it (hpa/manifests/policies/hostport-pods.yaml).
POD_MATCH_CONDITIONS: Final = [
    {
        "name": "uses-hpa",
        "expression": " || ".join(
            [
                _any_annotation(
                    api.CLAIM_ANNOTATION_PREFIX,
                    api.PORT_ANNOTATION_PREFIX,
                    api.TEMPLATE_ANNOTATION_PREFIX,
                ),
                f"(has(object.metadata.labels) && '{api.POD_LABEL}' in object.metadata.labels)",
                "(has(object.spec.hostNetwork) && object.spec.hostNetwork)",
                _any_host_port("containers"),
                _any_host_port("initContainers"),
            ]
        ),
    }
]

TIMEOUT_SECONDS: Final = 10


def _client_config(
    path: str, *, service: str, namespace: str, port: int, url: str, ca_bundle: bytes
) -> dict[str, Any]:
    config: dict[str, Any]
    if url:
        config = {"url": url.rstrip("/") + path}
    else:
        config = {"service": {"name": service, "namespace": namespace, "path": path, "port": port}}
    if ca_bundle:
        config["caBundle"] = base64.b64encode(ca_bundle).decode()
    return config


def webhook_configurations(
    *,
    service: str = api.WEBHOOK_SERVICE,
    namespace: str = "hpa",
    port: int = api.WEBHOOK_SERVICE_PORT,
    url: str = "",
    ca_bundle: bytes = b"",
    namespace_selector: api.LabelSelector = api.DEFAULT_NAMESPACE_SELECTOR,
    service_account: str = api.APP_NAME,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mutating and the validating configuration, as API objects.

    Args:
        service: the Service in front of the admission server.
        namespace: the Service's namespace.
        port: the Service's port.
        url: call this base URL instead of the Service (e.g. ``https://127.0.0.1:9443``).
        ca_bundle: the PEM CA bundle the API server verifies the server with.
        namespace_selector: the namespaces whose pods the pod webhooks see.
        service_account: hpa's own ServiceAccount (in ``namespace``), whose writes to its
            resources the resource webhook does not see.
    """

    def client(path: str) -> dict[str, Any]:
        return _client_config(
            path, service=service, namespace=namespace, port=port, url=url, ca_bundle=ca_bundle
        )

    selector = msgspec.json.decode(msgspec.json.encode(namespace_selector))  # lists, not tuples
    common = {
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "matchPolicy": "Equivalent",
    }
    mutating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": api.MUTATING_CONFIGURATION},
        "webhooks": [
            {
                "name": f"mutate-pods.{api.GROUP}",
                "clientConfig": client(api.PATH_MUTATE_PODS),
                "rules": [_rule("", "v1", ["pods"], ["CREATE"])],
                "namespaceSelector": selector,
                "matchConditions": POD_MATCH_CONDITIONS,
                # Fails open so that a pod hpa could not reach is refused by the policy instead,
                # which says that hpa is unavailable (kube-apiserver's own message for a failed
                # call names only the webhook). Nothing gets through unchecked: the policy
                # refuses a claimed pod without its port annotations, and /validate-pods
                # (failurePolicy Fail) checks those against the claims.
                "failurePolicy": "Ignore",
                "reinvocationPolicy": "IfNeeded",
                **common,
                # It makes and binds a pod's own claims, except on a dry run.
                "sideEffects": "NoneOnDryRun",
            }
        ],
    }
    validating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": api.VALIDATING_CONFIGURATION},
        "webhooks": [
            {
                "name": f"validate-pods.{api.GROUP}",
                "clientConfig": client(api.PATH_VALIDATE_PODS),
                # UPDATEs (annotations, label, ephemeral containers) are the policy's alone.
                "rules": [_rule("", "v1", ["pods"], ["CREATE"])],
                "namespaceSelector": selector,
                "matchConditions": POD_MATCH_CONDITIONS,
                "failurePolicy": "Fail",
                **common,
            },
            {
                "name": f"validate-resources.{api.GROUP}",
                "clientConfig": client(api.PATH_VALIDATE_RESOURCES),
                "rules": [
                    _rule(
                        api.GROUP,
                        api.VERSION,
                        [api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT],
                        ["CREATE", "UPDATE"],
                    )
                ],
                # hpa's own writes (status, finalizers, HostPorts) need no advice from itself,
                # and must not wait for its webhook; the CRDs' CEL rules still check them.
                "matchConditions": [
                    {
                        "name": "not-hpa-itself",
                        "expression": "request.userInfo.username != "
                        f"'system:serviceaccount:{namespace}:{service_account}'",
                    }
                ],
                "failurePolicy": "Ignore",
                **common,
            },
        ],
    }
    return mutating, validating


def _rule(group: str, version: str, resources: list[str], operations: list[str]) -> dict[str, Any]:
    return {
        "apiGroups": [group],
        "apiVersions": [version],
        "resources": resources,
        "operations": operations,
        "scope": "*",
    }
