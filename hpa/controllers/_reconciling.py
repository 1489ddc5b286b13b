"""The reconcile contract, apart from any queue or worker (controller-runtime's
``pkg/reconcile``).

A :class:`Reconciler` is given a key (``namespace/name`` or ``name``) and makes the world match
the object's spec, reading the current state from the caches, never from the event that
queued it. It must be idempotent: it may run again at any time, also after a crash midway.
What it returns or raises tells the loop what to do next::

    return Result()                      done; run again only when something changes
    return Result(requeue_after=30.0)    done for now; run again in 30 s
    raise TerminalError(...)             give up on this key until it changes; logged once
    raise <anything else>                failed; retried with per-key exponential back-off

Errors are logged once, by the loop, with the key; reconcilers do not log what they raise.
"""

from typing import Protocol

import msgspec


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """What a successful reconcile asks of the loop."""

    requeue_after: float | None = None


class TerminalError(Exception):
    """A reconcile that cannot succeed until the object changes; not retried."""


class Reconciler(Protocol):
    """Makes the world match one object's spec."""

    async def reconcile(self, key: str) -> Result:
        """Reconcile the object with this key.

        Raises:
            TerminalError: retrying will not help.
            Exception: any other failure; the key is retried with back-off.
        """
        ...
