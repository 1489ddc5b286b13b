"""The objects that install hpa in a cluster, as plain dicts.

Least privilege: the ClusterRole covers only what the informers and reconcilers need; what
lives in hpa's own namespace (the Lease, the certificate Secret) is granted by a Role there,
narrowed by ``resourceNames`` wherever Kubernetes allows it (never for ``create``).

Tenants get hpa's kinds through the built-in ``admin``, ``edit`` and ``view`` roles, which
aggregate ``hpa-edit`` (claims, every verb; HostPorts and classes, read) and ``hpa-view``
(all three, read).
"""

import importlib.resources
from typing import Any, Final

import msgspec
import yaml

from hpa import api
from hpa.manifests import _webhook_configurations as webhook_configurations

DEFAULT_IMAGE: Final = "hpa:0.1.0"
#: The ClusterRoles aggregated into the built-in admin and edit roles, and into view.
EDIT_ROLE: Final = f"{api.APP_NAME}-edit"
VIEW_ROLE: Final = f"{api.APP_NAME}-view"
#: The policy (and its binding) that refuses hostNetwork in managed namespaces.
HOST_NETWORK_POLICY: Final = f"{api.GROUP}-host-network"

#: The preStop delay: long enough for endpoint removal to reach the API servers.
PRE_STOP_SECONDS: Final = 5

_LABELS: Final = {"app.kubernetes.io/name": api.APP_NAME, "app.kubernetes.io/part-of": api.APP_NAME}
_SELECTOR: Final = {"app.kubernetes.io/name": api.APP_NAME}

Document = dict[str, Any]


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """What a user may change when rendering the install."""

    namespace: str = api.DEFAULT_NAMESPACE
    image: str = DEFAULT_IMAGE
    replicas: int = 2
    #: Label a namespace must carry for hpa's pod webhooks to act on its pods.
    namespace_label: str = api.NAMESPACE_LABEL
    namespace_label_value: str = api.NAMESPACE_LABEL_VALUE
    #: The leader-election Lease: the Role grants this one, and the Deployment runs with it.
    lease_name: str = api.LEASE_NAME
    #: Admit pods with hostNetwork in managed namespaces: the Deployment runs with
    #: ``--allow-host-network`` and the policy that refuses hostNetwork is left out.
    allow_host_network: bool = False
    #: Call the webhook at this base URL instead of through the Service: for hpa running outside
    #: the cluster (its serving certificate must then name the URL's host: ``--webhook-host``).
    webhook_url: str = ""


def install_documents(options: Options | None = None) -> list[Document]:
    """Every object of the install, in the order ``kubectl apply`` should see them."""
    options = options or Options()
    return [
        _namespace(options),
        *api.custom_resource_definitions(),
        _meta("v1", "ServiceAccount", options),
        *_rbac(options),
        *_tenant_roles(),
        _service(options),
        _deployment(options),
        _pod_disruption_budget(options),
        *_webhook_configurations(options),
        *_policies(options),
    ]


def _metadata(name: str, namespace: str | None) -> Document:
    meta: Document = {"name": name, "labels": dict(_LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _meta(api_version: str, kind: str, options: Options, name: str = api.APP_NAME) -> Document:
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
        _rule([""], ["pods", "namespaces", "resourcequotas", "nodes"], _READ),
        _rule([""], ["resourcequotas/status"], ["patch"]),
        _rule(["apps"], ["statefulsets"], _READ),
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
            resourceNames=[api.MUTATING_CONFIGURATION, api.VALIDATING_CONFIGURATION],
        ),
    ]
    namespace_rules = [
        _rule(["coordination.k8s.io"], ["leases"], ["create"]),
        # list/watch are narrowed by name too: the elector watches with the field selector
        # metadata.name=<lease>, which the API server authorizes against resourceNames.
        _rule(
            ["coordination.k8s.io"],
            ["leases"],
            ["get", "list", "watch", "update", "patch"],
            resourceNames=[options.lease_name],
        ),
        _rule([""], ["secrets"], ["create"]),
        _rule([""], ["secrets"], ["get", "update", "patch"], resourceNames=[api.WEBHOOK_SECRET]),
    ]
    subject = [{"kind": "ServiceAccount", "name": api.APP_NAME, "namespace": options.namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": _metadata(api.APP_NAME, None),
            "rules": cluster_rules,
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": _metadata(api.APP_NAME, None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": api.APP_NAME,
            },
            "subjects": subject,
        },
        {**_meta(rbac, "Role", options), "rules": namespace_rules},
        {
            **_meta(rbac, "RoleBinding", options),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": api.APP_NAME,
            },
            "subjects": subject,
        },
    ]


_AGGREGATE: Final = "rbac.authorization.k8s.io/aggregate-to-"


def _tenant_roles() -> list[Document]:
    """What namespace users may do with hpa's kinds, through the built-in roles: ``admin`` and
    ``edit`` manage claims and read the rest, ``view`` reads all three. HostPorts and classes
    are cluster-scoped, so only a ClusterRoleBinding of those roles lets a user read them."""
    group = api.GROUP
    claims = [api.PLURAL_CLAIM]
    cluster_scoped = [api.PLURAL_HOSTPORT, api.PLURAL_CLASS]
    manage = [*_READ, "create", "update", "patch", "delete", "deletecollection"]

    def role(name: str, into: list[str], rules: list[Document]) -> Document:
        meta = _metadata(name, None)
        meta["labels"].update({f"{_AGGREGATE}{built_in}": "true" for built_in in into})
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": rules,
        }

    return [
        role(
            EDIT_ROLE,
            ["admin", "edit"],
            [_rule([group], claims, manage), _rule([group], cluster_scoped, _READ)],
        ),
        role(
            VIEW_ROLE,
            ["admin", "edit", "view"],
            [_rule([group], [*claims, *cluster_scoped], _READ)],
        ),
    ]


def _service(options: Options) -> Document:
    return {
        **_meta("v1", "Service", options, name=api.WEBHOOK_SERVICE),
        "spec": {
            "selector": dict(_SELECTOR),
            "ports": [
                {
                    "name": "webhook",
                    "port": api.WEBHOOK_SERVICE_PORT,
                    "targetPort": "webhook",
                    "protocol": "TCP",
                },
                {
                    "name": "metrics",
                    "port": api.METRICS_PORT,
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
        "name": api.APP_NAME,
        "image": options.image,
        "args": ["run"],
        "env": [
            _field_env(api.ENV_NAMESPACE, "metadata.namespace"),
            {"name": api.ENV_LOG_FORMAT, "value": "json"},
            {
                "name": api.ENV_NAMESPACE_LABEL,
                "value": f"{options.namespace_label}={options.namespace_label_value}",
            },
            {"name": api.ENV_LEASE_NAME, "value": options.lease_name},
            {
                "name": api.ENV_ALLOW_HOST_NETWORK,
                "value": str(options.allow_host_network).lower(),
            },
        ],
        "ports": [
            {"name": "webhook", "containerPort": api.WEBHOOK_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": api.METRICS_PORT, "protocol": "TCP"},
            {"name": "health", "containerPort": api.HEALTH_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {
            **probe,
            "httpGet": {"path": api.PATH_LIVENESS, "port": "health"},
            "failureThreshold": 3,
        },
        "readinessProbe": {
            **probe,
            "httpGet": {"path": api.PATH_READINESS, "port": "health"},
            "failureThreshold": 1,
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            # About 3.4 KiB per cached claim or HostPort over a ~70 MiB base (bench/reliability.py
            # cache): 1 GiB holds some 250,000 of them, peaks of a full re-list included.
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        # The kubelet waits before SIGTERM while the endpoints controller takes this replica
        # out of the webhook Service, so no admission review is sent to a closing server.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
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
                    "serviceAccountName": api.APP_NAME,
                    # A Fail-policy admission webhook for pods: evicting it to make room
                    # blocks pod creation in every managed namespace.
                    "priorityClassName": "system-cluster-critical",
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


def _managed_namespaces(options: Options) -> api.LabelSelector:
    """Namespaces labelled for hpa, never hpa's own nor kube-system."""
    return api.LabelSelector(
        match_labels={options.namespace_label: options.namespace_label_value},
        match_expressions=(
            api.Requirement(
                key="kubernetes.io/metadata.name",
                operator="NotIn",
                values=(options.namespace, "kube-system"),
            ),
        ),
    )


def _webhook_configurations(options: Options) -> list[Document]:
    """The webhook's own configurations; hpa writes their caBundle when it starts."""
    configurations = webhook_configurations.webhook_configurations(
        service=api.WEBHOOK_SERVICE,
        namespace=options.namespace,
        url=options.webhook_url,
        namespace_selector=_managed_namespaces(options),
        service_account=api.APP_NAME,
    )
    for configuration in configurations:
        configuration["metadata"]["labels"] = dict(_LABELS)
    return list(configurations)


def _policies(options: Options) -> list[Document]:
    """The ValidatingAdmissionPolicies for the checks that need no other object (CEL in the
    API server, see docs/admission.md), bound to the managed namespaces."""
    files = importlib.resources.files(__package__).joinpath("policies")
    documents = [
        d
        for f in sorted(files.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
        for d in yaml.safe_load_all(f.read_text())
        if d
    ]
    selector = msgspec.json.decode(msgspec.json.encode(_managed_namespaces(options)))
    if options.allow_host_network:
        documents = [d for d in documents if d["metadata"]["name"] != HOST_NETWORK_POLICY]
    for document in documents:
        document["metadata"]["labels"] = dict(_LABELS)
        if document["kind"] == "ValidatingAdmissionPolicyBinding":
            document["spec"]["matchResources"]["namespaceSelector"] = selector
    return documents


def service_monitor(options: Options | None = None) -> Document:
    """A Prometheus Operator ServiceMonitor for every replica's ``/metrics``, through the
    Service's ``metrics`` port, under ``job="hpa"`` (the Service's ``app.kubernetes.io/name``):
    the job the alerts of monitoring/ select. Not part of the install: the kustomize overlay
    ``service-monitor`` and the chart's ``serviceMonitor.enabled`` add it."""
    options = options or Options()
    return {
        **_meta("monitoring.coreos.com/v1", "ServiceMonitor", options),
        "spec": {
            "jobLabel": "app.kubernetes.io/name",
            "selector": {"matchLabels": dict(_SELECTOR)},
            "endpoints": [{"port": "metrics", "path": api.PATH_METRICS, "interval": "30s"}],
        },
    }
