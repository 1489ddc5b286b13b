"""Run a command as a container with a read-only root filesystem would run it (Linux, as root).

Usage: ``unshare --mount --propagation private python _jail.py CONFIG.json``. In the new mount
namespace (nothing here is visible outside it, and it vanishes with the process):

1. a tmpfs at ``stage`` holds the writable layers needed to create missing mount points (as a
   container runtime creates them in the image's root before making it read-only);
2. each ``binds`` source is bind-mounted at its target (the service-account volume);
3. with ``read_only_root``, every mount but ``/proc``, ``/sys`` and ``/dev`` is made read-only;
4. a fresh tmpfs is mounted at each ``writable`` path (the Deployment's volumeMounts);
5. ``setpriv`` drops to ``uid``/``gid`` with no supplementary groups (and no new privileges, no
   capabilities when asked), and execs ``argv`` in ``cwd`` with exactly ``env``.

The network and PID namespaces stay the host's: the process reaches the sandbox on loopback.
Stdlib only: it runs before anything of the project is importable by the jailed user.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Any

_KERNEL_TREES = ("/proc", "/sys", "/dev")
#: mountinfo writes space, tab, newline and backslash in paths as \ooo.
_OCTAL = re.compile(r"\\([0-7]{3})")


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _mount_points() -> list[str]:
    """Every mount point, from /proc/self/mountinfo (field 5, octal escapes decoded)."""
    lines = pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
    return [_OCTAL.sub(lambda m: chr(int(m[1], 8)), line.split(" ")[4]) for line in lines]


def _under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def _ensure_mount_point(target: pathlib.Path, stage: pathlib.Path, index: int) -> None:
    """Create ``target`` in a writable overlay on its deepest existing ancestor."""
    if target.exists():
        return
    ancestor = next(p for p in target.parents if p.exists()).resolve()
    if ancestor == pathlib.Path("/"):
        raise SystemExit(f"jail: will not lay an overlay over / to create {target}")
    upper, work = stage / f"overlay-{index}" / "upper", stage / f"overlay-{index}" / "work"
    upper.mkdir(parents=True)
    work.mkdir()
    options = f"lowerdir={ancestor},upperdir={upper},workdir={work}"
    _mount("-t", "overlay", "overlay", "-o", options, str(ancestor))
    target.mkdir(parents=True, mode=0o755)


def _setpriv(config: dict[str, Any]) -> list[str]:
    command = [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={config['uid']}",
        f"--regid={config['gid']}",
        "--clear-groups",
    ]
    if config["no_new_privileges"]:
        command.append("--no-new-privs")
    if config["drop_all_capabilities"]:
        command += ["--inh-caps=-all", "--bounding-set=-all"]
    return [*command, "--", *config["argv"]]


def main(path: str) -> None:
    config = json.loads(pathlib.Path(path).read_text())
    stage = pathlib.Path(config["stage"])
    _mount("-t", "tmpfs", "-o", "mode=0700", "jail-stage", str(stage))
    targets = [target for _, target in config["binds"]] + config["writable"]
    for index, target in enumerate(targets):
        _ensure_mount_point(pathlib.Path(target), stage, index)
    for source, target in config["binds"]:
        _mount("--bind", source, target)
    if config["read_only_root"]:
        for point in _mount_points():
            if not any(_under(point, tree) for tree in _KERNEL_TREES):
                _mount("-o", "remount,bind,ro", point)
    for target in config["writable"]:
        _mount("-t", "tmpfs", "-o", "mode=1777", "volume", target)
    os.chdir(config["cwd"])
    command = _setpriv(config)
    os.execve(command[0], command, config["env"])


if __name__ == "__main__":
    main(sys.argv[1])
