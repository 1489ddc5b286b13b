"""Helm, as the chart's tests and the e2e suite drive it: the ``helm`` on PATH, which
``hack/install-helm`` provides (CI puts it there). Without one, a test fails in CI (``CI`` is
set) and skips elsewhere."""

import dataclasses
import os
import pathlib
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

CHART = REPO_ROOT / "charts" / "hpa"
#: The release name the tests install and render the chart as.
RELEASE = "hpa"


def executable() -> str:
    """The helm on PATH; fails the test in CI without one, skips it elsewhere."""
    found = shutil.which("helm")
    if found is None:
        reason = 'helm is not on PATH: export PATH="$(hack/install-helm):$PATH"'
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream."""
    return [d for d in yaml.safe_load_all(text) if d]


@dataclasses.dataclass(frozen=True)
class Helm:
    """helm with its own cache, configuration and data under ``home`` (never the user's), and
    with ``kubeconfig``, if given, as the cluster it talks to."""

    executable: str
    home: pathlib.Path
    kubeconfig: pathlib.Path | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run helm; with ``check``, fail the test with its stderr on an error."""
        result = subprocess.run(
            [self.executable, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed: {result.stderr}", pytrace=False)
        return result

    def template(self, *args: str) -> list[dict[str, Any]]:
        """The objects ``helm template`` renders from the chart with ``args``."""
        return documents(self.run("template", RELEASE, str(CHART), *args).stdout)
