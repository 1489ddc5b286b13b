"""Fault injection and request counters (for tests of the operator's error handling)."""

import anyio
import pytest

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, Api, claim


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        pytest.param(500, "InternalError", id="500"),
        pytest.param(429, "TooManyRequests", id="429"),
        pytest.param(503, "ServiceUnavailable", id="503"),
    ],
)
async def test_fail_answers_the_status_a_given_number_of_times(
    api: Api, sandbox: sandbox_module.Sandbox, status: int, reason: str
) -> None:
    """faults.fail(verb, resource, status, times) fails exactly that many matching requests.

    Ref: API conventions, "HTTP Status codes" (429 with retryAfterSeconds, 5xx).
    """
    rule = sandbox.faults.fail(verb="create", resource="hostportclaims", status=status, times=2)
    answers = [await api.post(CLAIMS, claim(f"c{i}")) for i in range(3)]
    assert [a.status for a in answers] == [status, status, 201]
    assert answers[0].body["reason"] == reason
    assert rule.hits == 2
    assert (await api.get(CLAIMS)).status == 200


async def test_predicate_selects_requests(api: Api, sandbox: sandbox_module.Sandbox) -> None:
    """A predicate on the call (e.g. the name) chooses which requests fail."""
    sandbox.faults.fail(verb="patch", predicate=lambda call: call.name == "b", times=None)
    await api.post(CLAIMS, claim("a"))
    await api.post(CLAIMS, claim("b"))
    assert (await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})).status == 200
    assert (await api.patch(f"{CLAIMS}/b", {"metadata": {"labels": {"x": "1"}}})).status == 500
    sandbox.faults.clear()
    assert (await api.patch(f"{CLAIMS}/b", {"metadata": {"labels": {"x": "1"}}})).status == 200


async def test_hang_holds_the_request_until_the_client_gives_up(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """faults.hang() never answers, so clients must time out."""
    sandbox.faults.hang(verb="get", resource="hostportclaims")
    with pytest.raises(TimeoutError), anyio.fail_after(0.3):
        await api.get(f"{CLAIMS}/a")
    assert (await api.get(f"{CLAIMS}/a")).status == 404


async def test_subresource_faults_match_plural_slash_subresource(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """A rule for ``hostportclaims/status`` fails status writes only."""
    sandbox.faults.fail(resource="hostportclaims/status", status=409, times=None)
    await api.post(CLAIMS, claim("a"))
    assert (await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})).status == 200
    assert (await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Bound"}})).status == 409


async def test_counters_count_requests_per_verb_and_resource(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """request_count, write_count and counters.by_resource count served API requests."""
    sandbox.counters.reset()
    await api.post(CLAIMS, claim("a"))
    await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Bound"}})
    await api.get(CLAIMS)
    assert sandbox.request_count == 3
    assert sandbox.write_count == 2
    assert sandbox.counters.by_resource[("patch", "hostportclaims/status")] == 1
    assert sandbox.counters.by_verb["list"] == 1
