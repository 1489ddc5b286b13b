"""The bearer token hpa sends, kept fresh without closing a connection.

kr8s puts the token into its shared HTTP client's headers once, and on a 401 rebuilds that
client, which ends every open watch; hpa calls it with ``raise_for_status=False`` to keep the
watches, so it must refresh credentials itself. :class:`Credentials` asks kr8s's auth to load
them again (it re-reads the service account's token file, which the kubelet rotates, and
re-runs an exec plugin) and hpa sends the result as each request's own ``Authorization``
header. Open watches keep the token they were opened with: the API server checks it once.

When to load again, as client-go does for its token sources:

- every ``max_age`` seconds (a minute): the kubelet replaces a projected token well before it
  expires, so a minute-old copy is never the one that has expired;
- at once after a 401, and the request is sent once more: an exec plugin's token (or any other)
  may have expired early, been revoked, or been rotated by someone else.

An exec plugin is run no more than that: at most once a minute, plus once per 401.
"""

import time
from collections.abc import Callable
from typing import Any

import anyio
import structlog

logger = structlog.get_logger(__name__)


class Credentials:
    """The current bearer token of a kr8s auth object (none with client certificates)."""

    def __init__(
        self, auth: Any, *, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._auth = auth
        self._max_age = max_age
        self._clock = clock
        self._token: str | None = auth.token
        self._loaded = clock()
        self._lock = anyio.Lock()

    async def current(self) -> str | None:
        """The token to send now, loaded again first if it is too old."""
        if self._clock() - self._loaded >= self._max_age:
            await self.reload(seen=self._token)
        return self._token

    async def reload(self, *, seen: str | None) -> None:
        """Load the credentials again, unless another task already replaced ``seen``."""
        async with self._lock:
            if self._token != seen:
                return
            self._loaded = self._clock()
            try:
                await self._auth.reauthenticate()
            except Exception as error:  # a failing exec plugin, an unreadable token file
                # Keep sending the token there is; the API server's 401 then says the rest.
                logger.warning("credentials not reloaded", error=str(error))
                return
            token = self._auth.token
            if token != self._token:
                logger.info("credentials reloaded", changed=True)
            self._token = token


def authorization(token: str | None) -> dict[str, str]:
    """The header that sends ``token`` (none without one: client certificates)."""
    return {"Authorization": f"Bearer {token}"} if token else {}
