"""Run a command as a container with a read-only root filesystem would run it (Linux, as root).

Usage: ``unshare --mount --propagation private python _jail.py CONFIG.json``. In the new mount
namespace (nothing here is visible outside it, and it vanishes with the process):

1. a tmpfs at ``stage`` holds the writable layers needed to create missing mount points (as a
   container runtime creates them in the image's root before making it read-only);
2. each ``binds`` source is bind-mounted at its target (the service-account volume);
3. with ``read_only_root``, every mount but ``/proc``, ``/sys`` and ``/dev`` is made read-only;
4. each ``reveal`` path (the interpreter, the virtualenv, hpa) that ``uid``/``gid`` cannot reach
   is made reachable, read-only, at the same path (see :func:`_reveal`);
5. a fresh tmpfs is mounted at each ``writable`` path (the Deployment's volumeMounts);
6. ``setpriv`` drops to ``uid``/``gid`` with no supplementary groups (and no new privileges, no
   capabilities when asked), and execs ``argv`` in ``cwd`` with exactly ``env``.

The network and PID namespaces stay the host's: the process reaches the sandbox on loopback.
Stdlib only: it runs before anything of the project is importable by the jailed user.
"""

import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

_KERNEL_TREES = ("/proc", "/sys", "/dev")
#: mountinfo writes space, tab, newline and backslash in paths as \ooo.
_OCTAL = re.compile(r"\\([0-7]{3})")


def _mount(*args: str) -> None:
    # --no-mtab: these mounts exist only in this namespace, so they have no business in the
    # host's /run/mount/utab (which is read-only here once the root is).
    subprocess.run(["mount", "--no-mtab", *args], check=True)


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


def _allows(info: os.stat_result, *, uid: int, gid: int, bits: tuple[int, int, int]) -> bool:
    """Whether the owner, group or other ``bits`` of ``info`` grant ``uid``/``gid`` (no groups)."""
    user, group, other = bits
    if info.st_uid == uid:
        return bool(info.st_mode & user)
    if info.st_gid == gid:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)


_SEARCH = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
_READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


def _blocking_ancestor(path: pathlib.Path, *, uid: int, gid: int) -> pathlib.Path | None:
    """The topmost directory above ``path`` that ``uid``/``gid`` cannot search, if any.

    Raises:
        SystemExit: ``path`` itself is not readable: hiding its ancestors would not help.
    """
    info = path.stat()
    readable = _allows(info, uid=uid, gid=gid, bits=_READ)
    if not readable or (path.is_dir() and not _allows(info, uid=uid, gid=gid, bits=_SEARCH)):
        raise SystemExit(f"jail: uid {uid} cannot read {path} (mode {stat.filemode(info.st_mode)})")
    for directory in reversed(path.parents):
        if not _allows(directory.stat(), uid=uid, gid=gid, bits=_SEARCH):
            return directory
    return None


def _outermost(paths: Iterable[pathlib.Path]) -> list[pathlib.Path]:
    """``paths`` without those that lie inside another of them."""
    unique = sorted(set(paths))
    return [p for p in unique if not any(p != q and p.is_relative_to(q) for q in unique)]


def _reveal(paths: Iterable[str], *, uid: int, gid: int, stage: pathlib.Path) -> None:
    """Make each of ``paths`` reachable by ``uid``/``gid`` at its own path, read-only.

    This stands in for an image whose interpreter its user can read: the test runs this
    machine's Python and hpa, which may sit under a directory closed to the Deployment's user
    (``/root``, mode 0700, holds pyenv's interpreters and CI's clone with its ``.tox``). Nothing
    on the host changes mode: in this namespace, a tmpfs (0755) covers each such directory,
    holding only the directories that lead to the paths and, bind-mounted read-only at the ends,
    the paths themselves; everything else in it is hidden from the process, as it would be
    absent from an image.

    Each cover is built on ``stage`` while the paths can still be reached there, then moved
    (with its bind mounts) over the directory it covers. A cover over a directory that holds
    ``stage`` goes last, since ``stage`` is out of reach once it is in place.
    """
    covers: dict[pathlib.Path, list[pathlib.Path]] = {}
    for path in _outermost(pathlib.Path(p).resolve() for p in paths):
        blocked = _blocking_ancestor(path, uid=uid, gid=gid)
        if blocked is not None:
            covers.setdefault(blocked, []).append(path)
    for blocked in sorted(covers, key=lambda b: stage.resolve().is_relative_to(b)):
        if blocked == pathlib.Path("/"):
            raise SystemExit(f"jail: uid {uid} cannot search /")
        _mount("-t", "tmpfs", "-o", "mode=0755", "jail-reveal", str(stage))
        for path in covers[blocked]:
            inside = stage / path.relative_to(blocked)
            inside.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            if path.is_dir():
                inside.mkdir(mode=0o755)
            else:
                inside.touch(mode=0o644)
            _mount("--bind", str(path), str(inside))
            _mount("-o", "remount,bind,ro", str(inside))
        _mount("-o", "remount,ro", str(stage))
        _mount("--move", str(stage), str(blocked))


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
    # The directories made here are mount points and covers that the user must traverse, as a
    # runtime makes them (0755), whatever the umask that root's shell handed down.
    os.umask(0o022)
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
    _reveal(config["reveal"], uid=config["uid"], gid=config["gid"], stage=stage)
    for target in config["writable"]:
        _mount("-t", "tmpfs", "-o", "mode=1777", "volume", target)
    os.chdir(config["cwd"])
    command = _setpriv(config)
    os.execve(command[0], command, config["env"])


if __name__ == "__main__":
    main(sys.argv[1])
