"""The public names of hpa.sandbox."""

import hpa.sandbox


def test_all_lists_exactly_the_public_names() -> None:
    """``__all__`` names every public attribute and nothing else (httpx's exported-members check)."""
    public = {name for name in dir(hpa.sandbox) if not name.startswith("_")}
    assert set(hpa.sandbox.__all__) == public
