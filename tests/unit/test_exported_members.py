"""Each package's ``__all__`` lists exactly its public names, and each of them exists."""

import importlib
import pkgutil

import pytest

import hpa

PACKAGES = sorted(
    name for _, name, is_package in pkgutil.walk_packages(hpa.__path__, prefix="hpa.") if is_package
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_honest(name: str) -> None:
    """Every name in __all__ exists, and every public non-module attribute is in __all__."""
    package = importlib.import_module(name)
    exported = set(getattr(package, "__all__", []))
    for member in exported:
        assert hasattr(package, member), f"{name}.__all__ names missing {member}"
    public = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_") and not isinstance(value, type(importlib))
    }
    assert public <= exported, f"{name} exports {public - exported} without listing them"
