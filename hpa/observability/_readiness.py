"""Readiness: named checks that together say whether this replica may serve.

The operator sets its checks as it starts (caches synced, port index rebuilt); the health
server (``/readyz``) reads them. It lives here, below every other layer, so the controllers
that set it and the server that reads it need not import each other.
"""

import threading


class Readiness:
    """Named boolean checks; ready when there is at least one and all are true."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checks: dict[str, bool] = {}

    def set(self, name: str, ok: bool) -> None:
        """Record the state of check ``name``."""
        with self._lock:
            self._checks[name] = ok

    def ready(self) -> bool:
        """Whether every check passes (and there is one)."""
        with self._lock:
            return bool(self._checks) and all(self._checks.values())

    def checks(self) -> dict[str, bool]:
        """A copy of every check and its state."""
        with self._lock:
            return dict(self._checks)
