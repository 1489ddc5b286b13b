"""Kubernetes quantities that count objects, as ResourceQuotas spell their limits."""

from typing import Final

_SI_FACTORS: Final = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY_FACTORS: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_count(value: str) -> int | None:
    """A Kubernetes quantity that counts objects (``"3"``, ``"2k"``, ``"1Ki"``), or None if
    ``value`` is not a whole number of that form."""
    text = value.strip()
    for suffixes in (_BINARY_FACTORS, _SI_FACTORS):
        for suffix, factor in suffixes.items():
            digits = text.removesuffix(suffix)
            if digits != text and digits.isascii() and digits.isdigit():
                return int(digits) * factor
    return int(text) if text.isascii() and text.isdigit() else None
