"""The sandbox's update path against writes that land while admission webhooks run.

kube-apiserver compares resourceVersions in storage, after admission (GuaranteedUpdate): a
write with a stale precondition is a Conflict, one without is applied again to the new object.
"""

from typing import Any

import anyio
import msgspec
import pytest

from hpa import sandbox
from hpa.sandbox import _calls, _engine
from tests.clusters import sandbox_only

JSON = dict[str, Any]
pytestmark = sandbox_only(
    "tests the sandbox's own update path with its admission hooks replaced; kube-apiserver's "
    "GuaranteedUpdate is what it imitates, and nothing here can hold a real admission chain"
)


class GatedAdmission:
    """Admission that holds the first UPDATE validation until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()
        self._gated = False

    async def mutate(self, call: _calls.Call, *, operation: str, obj: Any, old: Any) -> Any:
        return obj

    async def validate(self, call: _calls.Call, *, operation: str, obj: Any, old: Any) -> None:
        if operation == "UPDATE" and not self._gated:
            self._gated = True
            self.entered.set()
            await self.release.wait()


async def _race(server: sandbox.Sandbox, *, first: JSON) -> tuple[JSON | None, int, JSON]:
    """Patch ``first`` (held in admission) while ``{"data": {"b": "2"}}`` lands; return the
    first patch's result, its error code (0 if none) and the stored object."""
    stored = await server.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    )
    rv = stored["metadata"]["resourceVersion"]
    gate = GatedAdmission()
    server.engine.admission = gate
    resource = server.registry.get("", "v1", "configmaps")
    assert resource is not None

    def call() -> _calls.Call:
        return _calls.Call(resource=resource, verb="patch", namespace="default", name="c")

    merge = "application/merge-patch+json"
    outcome: dict[str, Any] = {"result": None, "code": 0}

    async def first_patch() -> None:
        body = msgspec.json.encode(_with_rv(first, rv))
        try:
            outcome["result"] = await server.engine.patch(call(), merge, body)
        except sandbox.ApiError as error:
            outcome["code"] = error.code

    async with anyio.create_task_group() as group:
        group.start_soon(first_patch)
        await gate.entered.wait()
        second = msgspec.json.encode({"data": {"b": "2"}, "metadata": {"resourceVersion": rv}})
        await server.engine.patch(call(), merge, second)
        gate.release.set()
    final = server.get("v1", "ConfigMap", "c", namespace="default")
    assert final is not None
    return outcome["result"], outcome["code"], _engine.clone(final)


def _with_rv(patch: JSON, rv: str) -> JSON:
    if "metadata" in patch:
        return {**patch, "metadata": {**patch["metadata"], "resourceVersion": rv}}
    return patch


@pytest.mark.parametrize(
    "precondition", [pytest.param(True, id="with-rv"), pytest.param(False, id="without-rv")]
)
async def test_a_write_during_admission_is_not_lost(
    sandbox: sandbox.Sandbox, precondition: bool
) -> None:
    """A patch whose object changed while its webhooks ran is a Conflict if it named a
    resourceVersion, and is re-applied to the new object if it did not; never both win."""
    first: JSON = {"data": {"a": "1"}}
    if precondition:
        first["metadata"] = {}
    result, code, final = await _race(sandbox, first=first)
    if precondition:
        assert code == 409 and result is None
        assert final["data"] == {"b": "2"}
    else:
        assert code == 0
        assert final["data"] == {"a": "1", "b": "2"}
