"""The feature scenarios run against the sandbox: with the operator's fixtures, or with the
whole hpa process (``hpa``) when admission is part of the behaviour."""

import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import pytest

from hpa import manifests, webhook
from hpa import sandbox as sandbox_module
from hpa.cli import _process, _sandbox
from tests.integration.operator.conftest import cluster, operator
from tests.sandbox_fixtures import poll_until

__all__ = ["Hpa", "cluster", "hpa", "operator"]

_INSTALLED_KINDS = {"Namespace", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}


Hpa = Callable[[], AbstractAsyncContextManager[_process.Running]]


@pytest.fixture
def hpa(sandbox: sandbox_module.Sandbox, kubeconfig: pathlib.Path) -> Hpa:
    """Run the whole hpa process (webhook and operator) against the sandbox, as `hpa sandbox`
    does: webhook configurations installed, the webhook Service mapped to the local server.
    A context manager factory, entered in the test (a task group cannot span fixture tasks)."""

    @asynccontextmanager
    async def run() -> AsyncIterator[_process.Running]:
        for document in manifests.install_documents():
            if document["kind"] in _INSTALLED_KINDS:
                await sandbox.create(document)
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            running: _process.Running = await group.start(
                _sandbox._operate, kubeconfig, _sandbox._local_serving(), stop
            )
            sandbox.service_map[(manifests.DEFAULT_NAMESPACE, manifests.SERVICE, 443)] = (
                f"127.0.0.1:{running.webhook_port}"
            )
            await poll_until(lambda: _ca_injected(sandbox), within=10)
            yield running
            stop.set()

    return run


def _ca_injected(sandbox: sandbox_module.Sandbox) -> bool:
    found = sandbox.get(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        webhook.VALIDATING_NAME,
    )
    return found is not None and all(
        hook.get("clientConfig", {}).get("caBundle") for hook in found.get("webhooks", [])
    )
