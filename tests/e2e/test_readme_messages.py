"""The denial messages the README's troubleshooting quotes are the ones kubectl shows."""

import json
import re
from collections.abc import Callable

import pytest

from tests.backends import REPO_ROOT
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.e2e


def readme_denials() -> list[str]:
    """The quoted messages of "Why was my pod denied?", in order."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("**Why was my pod denied?**", 1)[1].split("\n\n**", 1)[0]
    quoted = []
    for line in section.splitlines():
        if line.startswith("- "):  # "- `message` or `message`: what to do"
            quoted += re.findall(r"`([^`]+)`", line[2:].split("`: ", 1)[0] + "`")
    return quoted


def _pattern(quoted: str) -> re.Pattern[str]:
    """A quoted message as a pattern, ``...`` standing for anything."""
    return re.compile(".*".join(re.escape(part) for part in quoted.split("...")))


def _pod(name: str, namespace: str, *, annotations: dict[str, str], **spec: object) -> str:
    port = {"name": "web", "containerPort": 8080, **spec.pop("port", {})}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {"containers": [{"name": "app", "image": "busybox", "ports": [port]}], **spec},
        }
    )


def test_readme_quotes_what_kubectl_shows(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """Each pod the README's troubleshooting describes is refused with the quoted message."""
    quoted = readme_denials()
    assert len(quoted) == 5, quoted
    pending = json.dumps(
        {
            "apiVersion": "hostport.rmb938.com/v1alpha1",
            "kind": "HostPortClaim",
            "metadata": {"name": "pending", "namespace": namespace},
            "spec": {"hostPortClassName": unique("missing")},
        }
    )
    cluster.kubectl("apply", "-f", "-", input=pending)
    claim = "claim.hostport.rmb938.com/web"
    pods = [
        _pod("raw", namespace, annotations={}, port={"hostPort": 8080}),
        _pod("unknown", namespace, annotations={claim: "nope"}),
        _pod("unbound", namespace, annotations={claim: "pending"}),
        _pod("misnamed", namespace, annotations={"claim.hostport.rmb938.com/www": "pending"}),
        _pod("host-network", namespace, annotations={}, hostNetwork=True),
    ]
    for message, pod in zip(quoted, pods, strict=True):
        refused = cluster.kubectl("apply", "-f", "-", input=pod, check=False)
        assert refused.returncode != 0
        assert _pattern(message).search(refused.stderr), (message, refused.stderr)
