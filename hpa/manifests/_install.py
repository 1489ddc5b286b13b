"""The objects that install hpa in a cluster, as plain dicts.

Least privilege: the ClusterRole covers only what the informers and reconcilers need; what
lives in hpa's own namespace (the Lease, the certificate Secret) is granted by a Role there,
narrowed by ``resourceNames`` wherever Kubernetes allows it (never for ``create``).
"""

from typing import Any, Final

import msgspec

from hpa import api

DEFAULT_NAMESPACE: Final = "hpa-system"
DEFAULT_IMAGE: Final = "hpa:0.1.0"
NAME: Final = "hpa"
LEASE_NAME: Final = "hpa-leader"
CERT_SECRET: Final = "hpa-webhook-tls"

WEBHOOK_PORT: Final = 9443
METRICS_PORT: Final = 8080
HEALTH_PORT: Final = 8081

#: The admission endpoints the webhook serves, by what they admit.
WEBHOOK_PATHS: Final = {
    "mutate-pods": "/mutate-pods",
    "validate-pods": "/validate-pods",
    "validate-resources": "/validate-hostport-rmb938-com",
}

_LABELS: Final = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": NAME}
_SELECTOR: Final = {"app.kubernetes.io/name": NAME}

Document = dict[str, Any]


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """What a user may change when rendering the install."""

    namespace: str = DEFAULT_NAMESPACE
    image: str = DEFAULT_IMAGE
    replicas: int = 2
    #: Label a namespace must carry for hpa's pod webhooks to act on its pods.
    namespace_label: str = api.NAMESPACE_LABEL
    namespace_label_value: str = api.NAMESPACE_LABEL_VALUE


def install_documents(options: Options | None = None) -> list[Document]:
    """Every object of the install, in the order ``kubectl apply`` should see them."""
    options = options or Options()
    return [
        _namespace(options),
        *api.custom_resource_definitions(),
        _meta("v1", "ServiceAccount", options),
        *_rbac(options),
        _service(options),
        _deployment(options),
        _pod_disruption_budget(options),
        _mutating_webhooks(options),
        _validating_webhooks(options),
    ]


def _metadata(name: str, namespace: str | None) -> Document:
    meta: Document = {"name": name, "labels": dict(_LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _meta(api_version: str, kind: str, options: Options, name: str = NAME) -> Document:
    return {"apiVersion": api_version, "kind": kind, "metadata": _metadata(name, options.namespace)}


def _namespace(options: Options) -> Document:
    meta = _metadata(options.namespace, None)
    meta["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _rule(groups: list[str], resources: list[str], verbs: list[str], **extra: Any) -> Document:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


_READ: Final = ["get", "list", "watch"]


def _rbac(options: Options) -> list[Document]:
    group = api.GROUP
    plurals = [api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT]
    cluster_rules = [
        _rule([group], plurals, [*_READ, "create", "patch", "update", "delete"]),
        _rule([group], [f"{p}/status" for p in plurals], ["get", "patch", "update"]),
        _rule([""], ["pods", "namespaces"], _READ),
        _rule([""], ["events"], ["create", "patch"]),
        _rule(["events.k8s.io"], ["events"], ["create", "patch"]),
        _rule(
            ["admissionregistration.k8s.io"],
            ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
            ["get", "list", "watch"],
        ),
        _rule(
            ["admissionregistration.k8s.io"],
            ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
            ["patch", "update"],
            resourceNames=[NAME],
        ),
    ]
    namespace_rules = [
        _rule(["coordination.k8s.io"], ["leases"], ["create"]),
        _rule(
            ["coordination.k8s.io"],
            ["leases"],
            ["get", "update", "patch"],
            resourceNames=[LEASE_NAME],
        ),
        _rule([""], ["secrets"], ["create"]),
        _rule([""], ["secrets"], ["get", "update", "patch"], resourceNames=[CERT_SECRET]),
    ]
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": options.namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": _metadata(NAME, None),
            "rules": cluster_rules,
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": _metadata(NAME, None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": NAME,
            },
            "subjects": subject,
        },
        {**_meta(rbac, "Role", options), "rules": namespace_rules},
        {
            **_meta(rbac, "RoleBinding", options),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": subject,
        },
    ]


def _service(options: Options) -> Document:
    return {
        **_meta("v1", "Service", options),
        "spec": {
            "selector": dict(_SELECTOR),
            "ports": [
                {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"},
                {
                    "name": "metrics",
                    "port": METRICS_PORT,
                    "targetPort": "metrics",
                    "protocol": "TCP",
                },
            ],
        },
    }


def _field_env(name: str, path: str) -> Document:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _container(options: Options) -> Document:
    probe = {"httpGet": {"port": "health"}, "periodSeconds": 10, "timeoutSeconds": 2}
    return {
        "name": NAME,
        "image": options.image,
        "args": ["run"],
        "env": [
            _field_env("HPA_NAMESPACE", "metadata.namespace"),
            _field_env("HPA_POD_NAME", "metadata.name"),
            {"name": "HPA_LOG_FORMAT", "value": "json"},
        ],
        "ports": [
            {"name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {
            **probe,
            "httpGet": {"path": "/healthz", "port": "health"},
            "failureThreshold": 3,
        },
        "readinessProbe": {
            **probe,
            "httpGet": {"path": "/readyz", "port": "health"},
            "failureThreshold": 1,
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "96Mi"},
            "limits": {"cpu": "1", "memory": "384Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _deployment(options: Options) -> Document:
    return {
        **_meta("apps/v1", "Deployment", options),
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": dict(_SELECTOR)},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(options)],
                    "terminationGracePeriodSeconds": 30,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": dict(_SELECTOR)},
                        }
                    ],
                },
            },
        },
    }


def _pod_disruption_budget(options: Options) -> Document:
    return {
        **_meta("policy/v1", "PodDisruptionBudget", options),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(_SELECTOR)}},
    }


def _client_config(options: Options, path: str) -> Document:
    # caBundle is written by hpa itself at start-up (or by cert-manager's CA injector).
    return {"service": {"namespace": options.namespace, "name": NAME, "path": path, "port": 443}}


def _managed_namespaces(options: Options) -> Document:
    """Namespaces labelled for hpa, never hpa's own nor kube-system."""
    return {
        "matchExpressions": [
            {
                "key": options.namespace_label,
                "operator": "In",
                "values": [options.namespace_label_value],
            },
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": [options.namespace, "kube-system"],
            },
        ]
    }


def _webhook(
    options: Options, *, name: str, path: str, rules: list[Document], pods: bool
) -> Document:
    hook: Document = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "timeoutSeconds": 5,
        "clientConfig": _client_config(options, path),
        "rules": rules,
    }
    if pods:
        hook["namespaceSelector"] = _managed_namespaces(options)
    return hook


def _mutating_webhooks(options: Options) -> Document:
    pods = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": _metadata(NAME, None),
        "webhooks": [
            {
                **_webhook(
                    options,
                    name=f"pods.mutate.{api.GROUP}",
                    path=WEBHOOK_PATHS["mutate-pods"],
                    rules=pods,
                    pods=True,
                ),
                "reinvocationPolicy": "IfNeeded",
            }
        ],
    }


def _validating_webhooks(options: Options) -> Document:
    pods = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods", "pods/ephemeralcontainers"],
            "scope": "Namespaced",
        }
    ]
    resources = [
        {
            "apiGroups": [api.GROUP],
            "apiVersions": [api.VERSION],
            "operations": ["CREATE", "UPDATE"],
            "resources": [api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT],
            "scope": "*",
        }
    ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": _metadata(NAME, None),
        "webhooks": [
            _webhook(
                options,
                name=f"pods.validate.{api.GROUP}",
                path=WEBHOOK_PATHS["validate-pods"],
                rules=pods,
                pods=True,
            ),
            _webhook(
                options,
                name=f"resources.validate.{api.GROUP}",
                path=WEBHOOK_PATHS["validate-resources"],
                rules=resources,
                pods=False,
            ),
        ],
    }
