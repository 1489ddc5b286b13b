"""The Containerfile builds in stages from pinned dependencies and runs `hpa run` unprivileged.

No container engine runs on the development machines, so this reads the file; the image is
built by the release pipeline.
"""

import pathlib
import re
import tomllib

import pytest


@pytest.fixture
def instructions(repo_root: pathlib.Path) -> list[tuple[str, str]]:
    text = (repo_root / "Containerfile").read_text().replace("\\\n", " ")
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_multi_stage_slim_base(instructions: list[tuple[str, str]]) -> None:
    """A build stage and a slim runtime stage that copies only the virtual environment."""
    bases = [arg for op, arg in instructions if op == "FROM"]
    assert len(bases) >= 2
    assert all("slim" in base for base in bases)
    assert any(op == "COPY" and arg.startswith("--from=build") for op, arg in instructions)


def test_runs_hpa_run_as_non_root(instructions: list[tuple[str, str]]) -> None:
    """The last USER is a numeric non-root uid; the image's command is `hpa run`."""
    (user,) = [arg for op, arg in instructions if op == "USER"][-1:]
    assert not user.startswith("0") and user.split(":")[0].isdigit()
    entrypoint = [arg for op, arg in instructions if op == "ENTRYPOINT"][-1]
    command = [arg for op, arg in instructions if op == "CMD"][-1]
    assert (entrypoint, command) == ('["hpa"]', '["run"]')


def test_every_dependency_is_pinned(repo_root: pathlib.Path) -> None:
    """requirements.lock pins each runtime dependency of pyproject to one version."""
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    lock = (repo_root / "requirements.lock").read_text().splitlines()
    pins = {}
    for line in lock:
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    for requirement in project["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ \[]", requirement)[0]).lower()
        assert name in pins, f"{name} is not in requirements.lock"
