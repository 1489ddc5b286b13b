"""The webhook package's public names."""

import types

import hpa.webhook


def test_all_lists_exactly_the_public_names() -> None:
    """``__all__`` names every public attribute of the package, once."""
    public = {
        name
        for name, value in vars(hpa.webhook).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(hpa.webhook.__all__) == public
    assert len(hpa.webhook.__all__) == len(set(hpa.webhook.__all__))
