"""The layout of hpa/: each module's file name means one thing, and modules stay small.

A name that two packages both use (``_resources.py`` for an API endpoint in one place and a
validator in another) makes a reader guess which one a traceback, a log line or a docstring
means; so no two modules of hpa/ share a file name, whatever their packages. Package files
(``__init__.py``, ``__main__.py``) are the exception. Modules of the operator stay within
:data:`MAX_LINES` (the sandbox, test support, is held to no limit).
"""

import collections
import pathlib

import hpa

ROOT = pathlib.Path(hpa.__file__).parent
MAX_LINES = 400
UNLIMITED = ("sandbox",)


def _modules() -> list[pathlib.Path]:
    return sorted(ROOT.rglob("*.py"))


def test_no_two_modules_share_a_file_name() -> None:
    """Two modules with the same file name anywhere in hpa/ fail, naming both paths."""
    paths_by_name: dict[str, list[str]] = collections.defaultdict(list)
    for path in _modules():
        if not path.name.startswith("__"):
            paths_by_name[path.name].append(path.relative_to(ROOT).as_posix())
    shared = {name: paths for name, paths in paths_by_name.items() if len(paths) > 1}
    assert shared == {}, f"modules sharing a file name: {shared}"


def test_no_module_outside_the_sandbox_is_longer_than_the_limit() -> None:
    """A module of hpa/ outside hpa/sandbox over MAX_LINES lines fails, with its length."""
    too_long = {
        path.relative_to(ROOT).as_posix(): length
        for path in _modules()
        if path.relative_to(ROOT).parts[0] not in UNLIMITED
        and (length := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"modules over {MAX_LINES} lines: {too_long}"


def test_the_checks_see_every_package() -> None:
    """The walk finds the modules of every package, so a check cannot pass by finding none."""
    packages = {path.parent.relative_to(ROOT).as_posix() for path in _modules()}
    assert {"api", "certs", "controllers", "kube", "serving", "webhook", "sandbox"} <= packages
