"""hpa installed as ``hpa manifests`` describes it, with its Deployment run as local processes.

Every object of the install is applied with kubectl, except the Deployment: its container's
arguments and environment are used to start ``hpa run`` here, once per replica, authenticated as
the install's ServiceAccount with a token from the TokenRequest API, so every call hpa makes
passes the API server's authorizer with the shipped roles. The webhook configurations call the
replicas through a local balancer by URL, and the replicas' certificates name 127.0.0.1.
"""

import asyncio
import dataclasses
import os
import pathlib
import sys
from typing import Any

import aiohttp
import yaml

from localcluster import _controlplane as controlplane
from localcluster import _pki as pki
from localcluster import _processes as processes
from localcluster._api import Api, until

NAMESPACE = "hpa-system"
SERVICE_ACCOUNT = "hpa"
#: TokenRequest's lifetime: longer than any test run; the kubelet would rotate a projected token.
TOKEN_SECONDS = 24 * 3600


@dataclasses.dataclass
class Replica:
    """One ``hpa run`` and its ports."""

    child: processes.Child
    webhook_port: int
    metrics_port: int
    health_port: int


async def _run(*argv: str, stdin: bytes | None = None) -> tuple[bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed: {err.decode(errors='replace')}")
    return out, err


async def install(
    *, kubectl: pathlib.Path, kubeconfig: pathlib.Path, webhook_url: str
) -> dict[str, Any]:
    """Apply the install except its Deployment, which is returned; kubectl's warnings go to
    stderr."""
    rendered, _ = await _run(sys.executable, "-m", "hpa", "manifests", "--webhook-url", webhook_url)
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    applied = yaml.safe_dump_all([d for d in documents if d is not deployment]).encode()
    _, warnings = await _run(
        str(kubectl), "--kubeconfig", str(kubeconfig), "apply", "-f", "-", stdin=applied
    )
    if warnings.strip():
        sys.stderr.write(warnings.decode(errors="replace"))
    return deployment


async def service_account_kubeconfig(
    api: Api, *, plane: controlplane.ControlPlane, path: pathlib.Path
) -> pathlib.Path:
    """A kubeconfig that authenticates as hpa's ServiceAccount."""
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": TOKEN_SECONDS},
    }
    answer = await api.call(
        "POST",
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}/token",
        request,
    )
    config = controlplane.kubeconfig(
        url=plane.url,
        ca_cert=plane.pki.ca_cert,
        token=answer["status"]["token"],
        user=f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
    )
    return pki.write_private(path, config)


def _environment(container: dict[str, Any], namespace: str) -> dict[str, str]:
    """The container's environment, with the downward API's namespace resolved."""
    env: dict[str, str] = {}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == (
            "metadata.namespace"
        ):
            env[variable["name"]] = namespace
        else:
            raise ValueError(f"hack/cluster cannot resolve the variable {variable['name']}")
    return env


async def start_replicas(
    count: int, *, deployment: dict[str, Any], kubeconfig: pathlib.Path, state: pathlib.Path
) -> list[Replica]:
    """Start ``count`` ``hpa run`` processes as the Deployment would, on free loopback ports."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    base = _environment(container, deployment["metadata"]["namespace"])
    replicas = []
    for index in range(count):
        ports = [processes.free_port() for _ in range(3)]
        env = {
            # Only what the container would have: no HOME, no KUBECONFIG of the user's.
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **base,
            "HPA_KUBECONFIG": str(kubeconfig),
            "HPA_BIND_ADDRESS": "127.0.0.1",
            "HPA_WEBHOOK_PORT": str(ports[0]),
            "HPA_METRICS_PORT": str(ports[1]),
            "HPA_HEALTH_PORT": str(ports[2]),
            "HPA_WEBHOOK_HOST": "127.0.0.1",
        }
        argv = [sys.executable, "-m", "hpa", *container.get("args", [])]
        child = await processes.Child.start(f"hpa-{index}", argv, logs=state, env=env)
        replicas.append(Replica(child, *ports))
    return replicas


async def wait_ready(replicas: list[Replica], *, within: float = 120) -> None:
    """Return once every replica's /readyz answers 200."""
    async with aiohttp.ClientSession() as session:
        for replica in replicas:

            async def ready(replica: Replica = replica) -> bool:
                if replica.child.exited() is not None:
                    raise RuntimeError(f"{replica.child.name} exited:\n{replica.child.tail()}")
                url = f"http://127.0.0.1:{replica.health_port}/readyz"
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        return r.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    return False

            await until(ready, what=f"{replica.child.name} /readyz", within=within)
