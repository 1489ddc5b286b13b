"""The real control plane as the integration and reliability suites share it in a session.

``--api-server=control-plane`` starts one bare control plane per session (``hack/cluster
--no-hpa``, through :mod:`tests.backends`) and applies hpa's install to it, except what the tests
do themselves: the Deployment (hpa runs in the test's process) and the webhook configurations
(they name that process by URL, and only the tests that run the webhook create them). hpa then
authenticates as its ServiceAccount with a TokenRequest token, so the real authorizer checks
every call it makes against the shipped RBAC; its own namespace is ``hpa-system``, where the
install's Role grants the Lease and the certificate Secret.

The session is shared, so :meth:`ControlPlane.reset` empties it before each test: every
HostPortClaim, HostPort and HostPortClass (finalizers stripped first, as no operator runs to
remove them), StatefulSet, pod, Event, ResourceQuota and Lease that tests create, hpa's webhook
configurations and certificate Secret, and hpa's label on namespaces; then it polls until the
lists are empty.

Reads are synchronous (httpx): kube-apiserver is another process, so a test may block its event
loop on one without starving anything the answer depends on. They are consistent reads, though,
and a LIST of a thousand bound claims takes 0.2-0.3 s, during which the operator and the fault
proxy in that loop wait: poll large collections sparingly (``operator_scenarios.LARGE_POLL``).
"""

import concurrent.futures
import dataclasses
import functools
import itertools
import json
import pathlib
import ssl
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml

from hpa import api, kube, manifests
from tests import backends

Obj = dict[str, Any]

HPA_NAMESPACE = api.DEFAULT_NAMESPACE
#: The install's ServiceAccount, which its ClusterRole and Role are bound to.
SERVICE_ACCOUNT = "hpa"
#: TokenRequest's lifetime: longer than a session (a kubelet would rotate a projected token).
TOKEN_SECONDS = 24 * 3600
#: What of hpa's install the tests do themselves, or not at all.
_NOT_APPLIED = {"Deployment", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
_NEVER_EMPTIED = {"kube-system", "kube-public", "kube-node-lease"}

MUTATING_CONFIGURATIONS = kube.Resource(
    group="admissionregistration.k8s.io", version="v1", plural="mutatingwebhookconfigurations",
    kind="MutatingWebhookConfiguration", namespaced=False,
)  # fmt: skip
VALIDATING_CONFIGURATIONS = kube.Resource(
    group="admissionregistration.k8s.io", version="v1", plural="validatingwebhookconfigurations",
    kind="ValidatingWebhookConfiguration", namespaced=False,
)  # fmt: skip
POLICIES = kube.Resource(
    group="admissionregistration.k8s.io", version="v1", plural="validatingadmissionpolicies",
    kind="ValidatingAdmissionPolicy", namespaced=False,
)  # fmt: skip
POLICY_BINDINGS = kube.Resource(
    group="admissionregistration.k8s.io", version="v1",
    plural="validatingadmissionpolicybindings", kind="ValidatingAdmissionPolicyBinding",
    namespaced=False,
)  # fmt: skip
SECRETS = kube.Resource(group="", version="v1", plural="secrets", kind="Secret", namespaced=True)
SERVICE_ACCOUNTS = kube.Resource(
    group="", version="v1", plural="serviceaccounts", kind="ServiceAccount", namespaced=True
)
CRDS = kube.Resource(
    group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
    kind="CustomResourceDefinition", namespaced=False,
)  # fmt: skip
RESOURCES = {
    r.plural: r
    for r in (
        kube.CLASSES, kube.CLAIMS, kube.HOSTPORTS, kube.PODS, kube.EVENTS, kube.LEASES,
        kube.STATEFULSETS, kube.RESOURCE_QUOTAS, kube.NAMESPACES, MUTATING_CONFIGURATIONS,
        VALIDATING_CONFIGURATIONS, POLICIES, POLICY_BINDINGS, SECRETS, SERVICE_ACCOUNTS,
        kube.NODES,
    )
}  # fmt: skip
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES.values()}
#: Emptied in this order by :meth:`ControlPlane.reset`: owners before what they own.
_EMPTIED = (
    kube.STATEFULSETS, kube.CLAIMS, kube.HOSTPORTS, kube.CLASSES, kube.PODS, kube.EVENTS,
    kube.RESOURCE_QUOTAS, kube.LEASES,
)  # fmt: skip
#: How each is deleted: pods at once (no kubelet waits for containers to stop), and a
#: StatefulSet without waiting for the garbage collector.
_DELETE_OPTIONS = {
    "pods": {"gracePeriodSeconds": "0"},
    "statefulsets": {"propagationPolicy": "Background"},
}


class ApiError(Exception):
    """kube-apiserver answered with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:1000]}")
        self.status = status
        self.body = body


def checked(response: httpx.Response) -> Obj:
    """The decoded body of a successful response, or :class:`ApiError`."""
    if response.status_code >= 400:
        raise ApiError(response.status_code, response.text)
    return dict(response.json()) if response.content else {}


def kubeconfig_text(*, server: str, token: str, user: str, ca_cert: pathlib.Path | None) -> str:
    """A kubeconfig with one cluster and one bearer-token user."""
    cluster: Obj = {"server": server}
    if ca_cert is not None:
        cluster["certificate-authority"] = str(ca_cert)
    context = {"cluster": "control-plane", "user": user}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "control-plane", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "control-plane", "context": context}],
        "current-context": "control-plane",
    }
    return yaml.safe_dump(config)


def _without_finalizers(obj: Obj) -> bool:
    return not obj["metadata"].get("finalizers")


@dataclasses.dataclass
class ControlPlane:
    """The session's control plane, reached as its admin (see the module docstring)."""

    url: str
    ca_cert: pathlib.Path
    admin_token: str
    #: The admin's kubeconfig, and the kubectl built with the control plane.
    kubeconfig: pathlib.Path
    kubectl: pathlib.Path
    http: httpx.Client
    hpa_token: str = ""
    #: Resources the garbage collector and quota controller are known to work on (see
    #: ``ControlPlaneCluster.controllers_know``).
    known_to_controllers: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def connect(cls, kubeconfig: pathlib.Path, *, kubectl: pathlib.Path) -> "ControlPlane":
        """Reach the control plane whose admin ``kubeconfig`` hack/cluster wrote."""
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        token = config["users"][0]["user"]["token"]
        ca_cert = pathlib.Path(cluster["certificate-authority"])
        http = httpx.Client(
            base_url=cluster["server"],
            verify=ssl.create_default_context(cafile=str(ca_cert)),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return cls(cluster["server"], ca_cert, token, kubeconfig, kubectl, http)

    def close(self) -> None:
        self.http.close()

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies kube-apiserver's serving certificate."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    # -- set-up --------------------------------------------------------------------------------

    def install(self) -> None:
        """Apply hpa's install (see the module docstring), and get the ServiceAccount a token."""
        documents = [d for d in manifests.install_documents() if d["kind"] not in _NOT_APPLIED]
        listing = json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})
        applied = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), "apply", "-f", "-"],
            input=listing, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if applied.returncode != 0:
            pytest.fail(f"applying hpa's install failed:\n{applied.stderr}", pytrace=False)
        for crd in api.custom_resource_definitions():
            name = crd["metadata"]["name"]
            self._poll(functools.partial(self._established, name), what=f"CRD {name} Established")
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS},
        }
        path = SERVICE_ACCOUNTS.path(namespace=HPA_NAMESPACE, name=SERVICE_ACCOUNT) + "/token"
        self.hpa_token = checked(self.http.post(path, json=request))["status"]["token"]
        self.ensure_service_account("default")

    def _established(self, name: str) -> bool:
        crd = self.read(CRDS.path(name=name)) or {}
        conditions = crd.get("status", {}).get("conditions", [])
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    def ensure_service_account(self, namespace: str) -> None:
        """Make sure pods can be created in ``namespace``: kube-apiserver refuses a pod whose
        ServiceAccount does not exist, and kube-controller-manager creates ``default`` only
        shortly after the namespace. Creating it here is harmless if the controller wins."""
        path = SERVICE_ACCOUNTS.path(namespace=namespace, name="default")
        if self.read(path) is None:
            body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
            created = self.http.post(SERVICE_ACCOUNTS.path(namespace=namespace), json=body)
            if created.status_code != 409:
                checked(created)

    def service_account_kubeconfig(self, path: pathlib.Path, *, server: str = "") -> pathlib.Path:
        """A kubeconfig as hpa's ServiceAccount, for kube-apiserver or a proxy at ``server``."""
        text = kubeconfig_text(
            server=server or self.url,
            token=self.hpa_token,
            user=f"system:serviceaccount:{HPA_NAMESPACE}:{SERVICE_ACCOUNT}",
            ca_cert=None if server else self.ca_cert,
        )
        path.write_text(text)
        path.chmod(0o600)
        return path

    # -- reads ---------------------------------------------------------------------------------

    def read(self, path: str) -> Obj | None:
        """The object at ``path``, or None if it does not exist."""
        response = self.http.get(path)
        return None if response.status_code == 404 else checked(response)

    def list(self, resource: kube.Resource, *, namespace: str = "") -> list[Obj]:
        """Every object of a resource (across namespaces unless one is given)."""
        items = checked(self.http.get(resource.path(namespace=namespace)))["items"]
        return list(items)

    def count(self, resource: kube.Resource) -> int:
        """How many objects of a resource there are, without reading them all."""
        page = checked(self.http.get(resource.path(), params={"limit": "1"}))
        return len(page["items"]) + int(page["metadata"].get("remainingItemCount", 0))

    # -- reset ---------------------------------------------------------------------------------

    def reset(self, *, within: float = 60) -> None:
        """Empty the cluster of what tests create (see the module docstring).

        Raises:
            AssertionError: something is still there after ``within`` seconds.
        """
        for resource, name in (
            (MUTATING_CONFIGURATIONS, "hpa-mutating"),
            (VALIDATING_CONFIGURATIONS, "hpa-validating"),
        ):
            self._delete(resource.path(name=name))
        self._delete(SECRETS.path(namespace=HPA_NAMESPACE, name=api.WEBHOOK_SECRET))
        for namespace in self.list(kube.NAMESPACES):
            if api.NAMESPACE_LABEL in namespace["metadata"].get("labels", {}):
                patch = {"metadata": {"labels": {api.NAMESPACE_LABEL: None}}}
                self._merge_patch(kube.NAMESPACES.path(name=namespace["metadata"]["name"]), patch)
        self._poll(self._emptied, what="the cluster emptied", within=within)

    def _emptied(self) -> bool:
        """One round of deletions; whether there was nothing left to delete."""
        empty = True
        for resource in _EMPTIED:
            items = [
                o
                for o in self.list(resource)
                if o["metadata"].get("namespace", "") not in _NEVER_EMPTIED
            ]
            empty = empty and not items
            finalized = [o for o in items if not _without_finalizers(o)]
            # one patch per object: a few threads make a thousand of them take a second
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(self._strip, itertools.repeat(resource), finalized))
            for namespace in {o["metadata"].get("namespace", "") for o in items}:
                self._delete(
                    resource.path(namespace=namespace), params=_DELETE_OPTIONS.get(resource.plural)
                )
        return empty

    def _strip(self, resource: kube.Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        path = resource.path(namespace=meta.get("namespace", ""), name=meta["name"])
        self._merge_patch(path, {"metadata": {"finalizers": None}})

    def _delete(self, path: str, *, params: dict[str, str] | None = None) -> None:
        response = self.http.delete(path, params=params)
        if response.status_code not in (404, 409):  # gone, or changed: the next round sees it
            checked(response)

    def _merge_patch(self, path: str, patch: Obj) -> None:
        response = self.http.patch(
            path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        if response.status_code not in (404, 409):
            checked(response)

    @staticmethod
    def _poll(check: Callable[[], bool], *, what: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {within:.0f} s")
            time.sleep(0.1)  # poll until the deadline


_SHARED = pytest.StashKey[ControlPlane]()


def shared(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> ControlPlane:
    """The session's control plane, started and installed on first use and stopped when the
    session ends (whichever conftest's fixture asks first)."""
    if _SHARED not in config.stash:
        directory = tmp_path_factory.mktemp("control-plane")
        started, kubeconfig = backends.start_control_plane(directory, "--no-hpa")
        config.add_cleanup(started.stop)
        kubectl = backends.control_plane_binaries() / "kubectl"
        plane = ControlPlane.connect(kubeconfig, kubectl=kubectl)
        config.add_cleanup(plane.close)
        plane.install()
        config.stash[_SHARED] = plane
    return config.stash[_SHARED]
