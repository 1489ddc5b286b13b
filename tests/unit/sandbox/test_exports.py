"""The public names of hpa.sandbox."""

import hpa.sandbox


def test_all_lists_exactly_the_public_names() -> None:
    """``__all__`` names every public attribute and nothing else (as httpx checks)."""
    public = {name for name in dir(hpa.sandbox) if not name.startswith("_")}
    assert set(hpa.sandbox.__all__) == public
