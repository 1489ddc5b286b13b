"""Reading hpa's metrics registry in tests."""

from hpa import observability


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample of ``observability.REGISTRY`` (0 while it does not exist)."""
    return observability.REGISTRY.get_sample_value(name, labels or {}) or 0.0


def exists(name: str, labels: dict[str, str] | None = None) -> bool:
    """Whether the registry exposes this sample at all."""
    return observability.REGISTRY.get_sample_value(name, labels or {}) is not None
