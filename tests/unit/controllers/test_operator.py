"""The whole operator against the in-memory API server."""

from hpa import api
from tests import kubefake
from tests.polling import eventually
from tests.unit.controllers.conftest import Start, claim, sample_class


def _phase(fake: kubefake.FakeApi, name: str, namespace: str = "default") -> str:
    obj = fake.get(api.PLURAL_CLAIM, name, namespace) or {}
    return str(obj.get("status", {}).get("phase", ""))


async def test_quickstart_claim_binds(fake: kubefake.FakeApi, operator: Start) -> None:
    """The README's quickstart claim is bound to a port from the class's pool."""
    fake.put(api.PLURAL_CLASS, sample_class())
    fake.put(api.PLURAL_CLAIM, claim("echo-web"))
    async with operator():
        await eventually(lambda: _phase(fake, "echo-web") == api.PHASE_BOUND)
    bound = fake.get(api.PLURAL_CLAIM, "echo-web", "default")
    assert bound is not None
    port = bound["status"]["port"]
    assert 9000 <= port <= 9500
    assert bound["spec"]["hostPortName"] == api.hostport_name(port)
    hostport = fake.get(api.PLURAL_HOSTPORT, api.hostport_name(port))
    assert hostport is not None
    assert hostport["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
