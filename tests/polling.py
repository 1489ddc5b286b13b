"""Waiting for state without sleeping a fixed time: poll a predicate until a deadline."""

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the polling, not for a call
    interval: float = 0.01,
    message: str | Callable[[], str] = "",
) -> T:
    """The first truthy result of ``predicate`` (sync or async), polled every ``interval``.

    Raises:
        AssertionError: still falsy after ``timeout`` seconds (with the last result).
    """
    last: object = None
    with anyio.move_on_after(timeout):
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[return-value]
            last = result
            await anyio.sleep(interval)
    said = message() if callable(message) else message
    raise AssertionError(f"not true after {timeout}s: {said or predicate!r} (last: {last!r})")
