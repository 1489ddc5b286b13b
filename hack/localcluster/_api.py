"""A small admin client for the local API server (aiohttp, bearer token, the cluster's CA)."""

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

Obj = dict[str, Any]


class ApiError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


class Api:
    """JSON calls to one API server as one user."""

    def __init__(self, url: str, *, token: str, ca_cert: str) -> None:
        self.url = url
        self._ssl = ssl.create_default_context(cafile=ca_cert)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Api":
        self._session = aiohttp.ClientSession(
            headers=self._headers, connector=aiohttp.TCPConnector(ssl=self._ssl)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> Obj:
        """One request; the decoded answer, or :class:`ApiError`."""
        assert self._session is not None
        data = json.dumps(body) if body is not None else None
        async with self._session.request(
            method,
            self.url + path,
            data=data,
            params=params,
            headers={"Content-Type": content_type},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise ApiError(response.status, text)
            return json.loads(text) if text else {}

    async def text(self, path: str) -> str:
        """GET a path that answers text (``/metrics``)."""
        assert self._session is not None
        async with self._session.get(self.url + path) as response:
            if response.status >= 400:
                raise ApiError(response.status, await response.text())
            return await response.text()

    async def watch(self, path: str, params: dict[str, str]) -> AsyncIterator[Obj]:
        """The events of one watch request, until the server ends it."""
        assert self._session is not None
        query = {**params, "watch": "true", "allowWatchBookmarks": "true"}
        async with self._session.get(
            self.url + path,
            params=query,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=330),
        ) as response:
            if response.status >= 400:
                raise ApiError(response.status, await response.text())
            async for line in response.content:
                if line.strip():
                    yield json.loads(line)


async def until(
    check: Callable[[], Awaitable[bool]], *, what: str, within: float, interval: float = 0.2
) -> None:
    """Poll ``check`` until it is true, or raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within:.0f} s")
        await asyncio.sleep(interval)
