"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1.

The flags are those of a small real cluster, as envtest and kubeadm set them, with what this one
leaves out said where it is left out:

- RBAC is the only authorizer (no kubelet, so no Node authorizer); the admin is a static token
  in ``system:masters``; service-account tokens are signed with a generated RSA key.
- Admission runs the default plugins, named explicitly so that ValidatingAdmissionPolicy and
  ResourceQuota are on whatever the release's defaults are.
- The controller manager runs every default controller except the node lifecycle controller:
  with no kubelet heartbeats it would taint every node unreachable and evict its pods.
"""

import asyncio
import dataclasses
import pathlib
import ssl

import aiohttp

from localcluster import _pki as pki
from localcluster import _processes as processes
from localcluster._api import until

ADMISSION_PLUGINS = (
    "NamespaceLifecycle,LimitRanger,ServiceAccount,TaintNodesByCondition,PodSecurity,Priority,"
    "DefaultTolerationSeconds,DefaultStorageClass,StorageObjectInUseProtection,"
    "PersistentVolumeClaimResize,RuntimeClass,CertificateApproval,CertificateSigning,"
    "ClusterTrustBundleAttest,CertificateSubjectRestriction,DefaultIngressClass,"
    "MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,ResourceQuota"
)
SERVICE_CIDR = "10.96.0.0/16"


@dataclasses.dataclass
class ControlPlane:
    """The running control plane and how to reach it as the admin."""

    url: str
    pki: pki.Pki
    admin_kubeconfig: pathlib.Path
    children: list[processes.Child]

    def dead(self) -> processes.Child | None:
        """A component that has exited, if any."""
        return next((c for c in self.children if c.exited() is not None), None)

    async def stop(self) -> None:
        """Stop the components, the scheduler and controllers first, etcd last."""
        for child in reversed(self.children):
            await child.stop()


def kubeconfig(*, url: str, ca_cert: pathlib.Path, token: str, user: str) -> str:
    """A kubeconfig naming one cluster, one user with a bearer token, and their context."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: hpa-cluster\n  cluster:\n    server: {url}\n"
        f"    certificate-authority: {ca_cert}\n"
        f"users:\n- name: {user}\n  user:\n    token: {token}\n"
        "contexts:\n- name: hpa-cluster\n  context:\n"
        f"    cluster: hpa-cluster\n    user: {user}\n"
        "current-context: hpa-cluster\n"
    )


async def _etcd(bin_dir: pathlib.Path, state: pathlib.Path) -> tuple[processes.Child, str]:
    client, peer = processes.free_port(), processes.free_port()
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    child = await processes.Child.start(
        "etcd",
        [
            str(bin_dir / "etcd"),
            f"--data-dir={state / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            # A throw-away cluster: losing its data on a machine crash costs nothing.
            "--unsafe-no-fsync",
        ],
        logs=state,
    )
    return child, client_url


def _apiserver_argv(
    bin_dir: pathlib.Path, *, port: int, etcd: str, keys: pki.Pki, state: pathlib.Path
) -> list[str]:
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers={etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={state / 'apiserver-certs'}",
        f"--tls-cert-file={keys.serving_cert}",
        f"--tls-private-key-file={keys.serving_key}",
        f"--client-ca-file={keys.ca_cert}",
        f"--token-auth-file={keys.token_file}",
        "--authorization-mode=RBAC",
        f"--enable-admission-plugins={ADMISSION_PLUGINS}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={keys.service_account_public_key}",
        f"--service-account-signing-key-file={keys.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--profiling=false",
    ]


async def _ready(url: str, keys: pki.Pki, apiserver: processes.Child) -> None:
    context = ssl.create_default_context(cafile=str(keys.ca_cert))
    headers = {"Authorization": f"Bearer {keys.admin_token}"}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context), headers=headers
    ) as session:

        async def ready() -> bool:
            if apiserver.exited() is not None:
                raise RuntimeError(f"kube-apiserver exited:\n{apiserver.tail()}")
            try:
                async with session.get(
                    f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await until(ready, what="kube-apiserver /readyz", within=120)


async def start(bin_dir: pathlib.Path, state: pathlib.Path) -> ControlPlane:
    """Start every component and return once the API server is ready."""
    keys = pki.write(state / "pki")
    children: list[processes.Child] = []
    try:
        etcd, etcd_url = await _etcd(bin_dir, state)
        children.append(etcd)
        port = processes.free_port()
        url = f"https://127.0.0.1:{port}"
        argv = _apiserver_argv(bin_dir, port=port, etcd=etcd_url, keys=keys, state=state)
        apiserver = await processes.Child.start("kube-apiserver", argv, logs=state)
        children.append(apiserver)
        await _ready(url, keys, apiserver)
        admin = pki.write_private(
            state / "admin.kubeconfig",
            kubeconfig(url=url, ca_cert=keys.ca_cert, token=keys.admin_token, user="admin"),
        )
        children.append(await _controller_manager(bin_dir, admin, keys, state))
        children.append(await _scheduler(bin_dir, admin, state))
    except BaseException:
        await asyncio.shield(ControlPlane("", keys, state, children).stop())
        raise
    return ControlPlane(url, keys, admin, children)


async def _controller_manager(
    bin_dir: pathlib.Path, admin: pathlib.Path, keys: pki.Pki, state: pathlib.Path
) -> processes.Child:
    return await processes.Child.start(
        "kube-controller-manager",
        [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={admin}",
            "--leader-elect=false",
            "--secure-port=0",
            "--controllers=*,-node-lifecycle-controller",
            f"--service-account-private-key-file={keys.service_account_key}",
            f"--root-ca-file={keys.ca_cert}",
            "--use-service-account-credentials=false",
        ],
        logs=state,
    )


async def _scheduler(
    bin_dir: pathlib.Path, admin: pathlib.Path, state: pathlib.Path
) -> processes.Child:
    return await processes.Child.start(
        "kube-scheduler",
        [
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={admin}",
            "--leader-elect=false",
            "--secure-port=0",
        ],
        logs=state,
    )
