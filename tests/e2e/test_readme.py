"""The README's usage steps, run word for word with kubectl: the quickstart contract."""

import dataclasses
import pathlib
import re
import subprocess
import textwrap
from collections.abc import Iterator

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>.*)$")


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block of the usage section: a file to write, or shell lines to run."""

    kind: str  # "file" or "sh"
    text: str
    name: str = ""


def usage_blocks(readme: str) -> list[Block]:
    """The ``yaml file=NAME`` and ``sh`` blocks between the usage markers, in order."""
    section = readme.split("<!-- usage:start -->", 1)[1].split("<!-- usage:end -->", 1)[0]
    blocks: list[Block] = []
    lines = iter(section.splitlines())
    for line in lines:
        fence = _FENCE.match(line)
        if fence is None:
            continue
        body = textwrap.dedent("\n".join(_until_fence(lines))) + "\n"
        words = fence["info"].split()
        if words[:1] == ["sh"]:
            blocks.append(Block(kind="sh", text=body))
        elif len(words) > 1 and words[1].startswith("file="):
            blocks.append(Block(kind="file", text=body, name=words[1].removeprefix("file=")))
    return blocks


def _until_fence(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if _FENCE.match(line):
            return
        yield line


def test_usage_section_is_what_the_test_runs() -> None:
    """The parser finds the three manifests and the kubectl steps of the README."""
    blocks = usage_blocks((REPO_ROOT / "README.md").read_text())
    assert [b.name for b in blocks if b.kind == "file"] == [
        "hostportclass.yaml",
        "hostportclaim.yaml",
        "pod.yaml",
    ]
    commands = [line for b in blocks if b.kind == "sh" for line in b.text.splitlines()]
    assert commands[0] == "kubectl label namespace default hostport.rmb938.com=true"
    assert all(line.startswith("kubectl ") for line in commands)


@pytest.fixture
def workdir(tmp_path: pathlib.Path, cluster: Cluster) -> Iterator[pathlib.Path]:
    """Where the README's files are written; what the steps create is removed afterwards."""
    yield tmp_path
    for kind_name in ("pod/echo", "hostportclaim/echo-web", "hostportclass/sample"):
        cluster.kubectl("delete", kind_name, "-n", "default", "--wait=false", check=False)
    cluster.kubectl("label", "namespace", "default", "hostport.rmb938.com-", check=False)


def test_readme_usage_steps(cluster: Cluster, workdir: pathlib.Path) -> None:
    """Label, class, claim, pod: the pod gets the claim's port as hostPort and annotation."""
    outputs: list[str] = []
    for block in usage_blocks((REPO_ROOT / "README.md").read_text()):
        if block.kind == "file":
            (workdir / block.name).write_text(block.text)
            continue
        for command in block.text.splitlines():
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=workdir,
                env=cluster.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{command!r} failed: {result.stderr}"
            outputs.append(result.stdout)

    port = cluster.jsonpath("hostportclaim", "echo-web", "-n", "default", path="{.status.port}")
    assert 9000 <= int(port) <= 9500
    # The last two steps print the pod's hostPort and its port annotation.
    assert [o.strip() for o in outputs[-2:]] == [port, port]
    hostport = cluster.jsonpath(f"hostport/port-{port}", path="{.spec.claimRef.name}")
    assert hostport == "echo-web"
    if cluster.runs_controllers:  # a real scheduler places the pod (the sandbox has none)
        eventually(
            lambda: cluster.jsonpath("pod", "echo", "-n", "default", path="{.spec.nodeName}")
        )
