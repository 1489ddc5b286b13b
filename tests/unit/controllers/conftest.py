"""An operator running against the in-memory fake API server."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest

from hpa import controllers
from hpa.cli import _run
from tests import kubefake

Start = Callable[..., AbstractAsyncContextManager[controllers.Manager]]


@pytest.fixture
def fake() -> kubefake.FakeApi:
    """An empty in-memory API server."""
    return kubefake.FakeApi()


@pytest.fixture
def operator(fake: kubefake.FakeApi) -> Start:
    """Start an operator on ``fake``; keyword arguments override the OperatorConfig."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[controllers.Manager]:
        settings: dict[str, Any] = {
            "namespace": "hpa-system",
            "leader_elect": False,
            "repair_interval": 3600.0,
        } | overrides
        config = _run.OperatorConfig(**settings)
        async with anyio.create_task_group() as group:
            manager = await group.start(
                lambda task_status: _run.run_operator(
                    config, transport=fake, task_status=task_status
                )
            )
            yield manager
            group.cancel_scope.cancel()

    return start


def sample_class(name: str = "sample", *pools: tuple[int, int]) -> dict[str, Any]:
    """A HostPortClass manifest."""
    pools = pools or ((9000, 9500),)
    return {
        "apiVersion": "hostport.rmb938.com/v1alpha1",
        "kind": "HostPortClass",
        "metadata": {"name": name},
        "spec": {"pools": [{"start": s, "end": e} for s, e in pools]},
    }


def claim(name: str, *, namespace: str = "default", class_name: str = "sample") -> dict[str, Any]:
    """A HostPortClaim manifest."""
    return {
        "apiVersion": "hostport.rmb938.com/v1alpha1",
        "kind": "HostPortClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hostPortClassName": class_name},
    }
