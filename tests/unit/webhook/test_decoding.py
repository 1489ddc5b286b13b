"""HTTP decoding of AdmissionReviews, on its own."""

import json
import pathlib
from typing import Any

import msgspec
import pytest

from hpa import webhook
from tests.unit.webhook import support

REFERENCE = (
    pathlib.Path(__file__).parents[3]
    / ".."
    / "shared"
    / "reference"
    / "admission.k8s.io.v1.AdmissionReview.json"
)


def test_kubernetes_round_trip_fixture_decodes() -> None:
    """Kubernetes' own AdmissionReview fixture (every field filled) is accepted."""
    if not REFERENCE.exists():
        pytest.skip("the shared reference fixture is not beside the repository")
    request = webhook.decode_review(REFERENCE.read_bytes())
    assert request.uid == "uidValue"
    assert request.sub_resource == "subResourceValue"
    assert request.user_info.extra == {"extraKey": ("extraValue",)}
    assert request.dry_run is True
    assert json.loads(bytes(request.object))["kind"] == "CustomType"


def test_unknown_fields_are_ignored() -> None:
    """Fields this version does not know are skipped, at every level."""
    body = support.review_body({"metadata": {"name": "p"}})
    body["future"] = 1
    body["request"]["newThing"] = {"x": [1]}
    body["request"]["userInfo"]["more"] = True
    assert webhook.decode_review(json.dumps(body).encode()).uid == "0f1e2d3c"


def _without(key: str) -> dict[str, Any]:
    body = support.review_body({})
    del body[key]
    return body


def _without_field(key: str) -> dict[str, Any]:
    body = support.review_body({})
    del body["request"][key]
    return body


def _with_field(key: str, value: Any) -> dict[str, Any]:
    body = support.review_body({})
    body["request"][key] = value
    return body


def _with_raw(raw: bytes, *, uid: str = "0f1e2d3c", obj: Any = None) -> bytes:
    """A review with ``raw`` (bytes ``json.dumps`` would never write) in place of ``"RAW"``."""
    text = json.dumps(support.review_body(obj or {"metadata": {"name": "p"}}, uid=uid)).encode()
    assert text.count(b'"RAW"') == 1
    return text.replace(b'"RAW"', raw)


#: Deeper than Python's recursion limit (1,000), which bounds msgspec's recursive decoder.
DEEP = 5000


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"", "not an AdmissionReview", id="empty"),
        pytest.param(b"{", "not an AdmissionReview", id="truncated-json"),
        pytest.param(b"[]", "not an AdmissionReview", id="array"),
        pytest.param(b"\xff\xfe", "body is not UTF-8: invalid start byte at byte 0", id="not-utf8"),
        pytest.param(
            json.dumps({**support.review_body({}), "apiVersion": "admission.k8s.io/v1beta1"}),
            "expected apiVersion admission.k8s.io/v1",
            id="v1beta1",
        ),
        pytest.param(
            json.dumps({**support.review_body({}), "kind": "Pod"}),
            "and kind AdmissionReview",
            id="wrong-kind",
        ),
        pytest.param(json.dumps(_without("request")), "has no request", id="no-request"),
        pytest.param(
            json.dumps(support.review_body({}, uid="")), "request has no uid", id="empty-uid"
        ),
        pytest.param(
            json.dumps({**support.review_body({}), "request": {"uid": 5}}),
            "Expected `str`, got `int` - at `$.request.uid`",
            id="uid-not-a-string",
        ),
        pytest.param(
            b" " * (webhook.MAX_BODY_BYTES + 1),
            "larger than",
            id="oversize",
        ),
        pytest.param(
            json.dumps(_without_field("operation")), "request.operation is required", id="no-op"
        ),
        pytest.param(
            json.dumps(_without_field("resource")), "request.resource is required", id="no-resource"
        ),
        pytest.param(
            json.dumps(_with_field("object", "a string")),
            "request.object must be a JSON object or null, got a string",
            id="object-a-string",
        ),
        pytest.param(
            json.dumps(support.review_body({}, operation="UPDATE", old=[1])),
            "request.oldObject must be a JSON object or null, got an array",
            id="old-object-an-array",
        ),
        pytest.param(
            json.dumps(support.review_body(None)),
            "request.object is required on CREATE",
            id="create-without-object",
        ),
        pytest.param(
            json.dumps(support.review_body({}, operation="UPDATE")),
            "request.oldObject is required on UPDATE",
            id="update-without-old-object",
        ),
        pytest.param(
            _with_raw(b'"\xc3"', uid="RAW"),
            "body is not UTF-8",
            id="uid-not-utf8",
        ),
        pytest.param(
            _with_raw(b'"\xff"', obj={"metadata": {"labels": {"app": "RAW"}}}),
            "body is not UTF-8",
            id="object-not-utf8",
        ),
        pytest.param(
            _with_raw(b'"\xed\xa0\x80"', obj={"unknown": "RAW"}),
            "body is not UTF-8",
            id="surrogate-in-unknown-field",
        ),
        pytest.param(
            _with_raw(b"[" * DEEP + b"]" * DEEP, obj={"spec": {"containers": "RAW"}}),
            "nested too deeply",
            id="deep-array",
        ),
        pytest.param(
            _with_raw(b'{"a":' * DEEP + b"1" + b"}" * DEEP, obj={"unknown": "RAW"}),
            "nested too deeply",
            id="deep-object",
        ),
    ],
)
def test_malformed_reviews_are_rejected(body: str | bytes, expected: str) -> None:
    """Bodies that are no AdmissionReview v1 with a uid raise MalformedReview with a reason."""
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(
        webhook.MalformedReview, match=expected.replace("$", r"\$").replace("[", r"\[")
    ):
        webhook.decode_review(raw)


@pytest.mark.parametrize(
    ("operation", "obj", "old"),
    [
        pytest.param("DELETE", None, {"metadata": {"name": "p"}}, id="delete"),
        pytest.param("DELETE", None, None, id="delete-from-an-old-api-server"),
        pytest.param("CONNECT", {"kind": "PodExecOptions"}, None, id="connect"),
        pytest.param("UPDATE", {}, {}, id="update"),
    ],
)
def test_reviews_of_an_object_are_accepted(operation: str, obj: Any, old: Any) -> None:
    """Each operation's review as an API server sends it decodes."""
    body = support.review_body(obj, operation=operation, old=old)
    assert webhook.decode_review(json.dumps(body).encode()).operation == operation


def test_deeply_nested_object_is_a_bad_object() -> None:
    """An object nested past the recursion limit is a BadObject, whatever the stack depth."""
    raw = msgspec.Raw(b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    with pytest.raises(webhook.BadObject, match="nested too deeply"):
        webhook.decode_object(raw, dict)


def test_encoded_answer_echoes_uid_and_base64_patch() -> None:
    """The answer carries the request's uid, apiVersion, kind and a base64 patch."""
    from hpa.webhook import _json_patch as json_patch

    response = webhook.patched([json_patch.add(1, "a/b")])
    answer = json.loads(webhook.encode_review("abc", response))
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == "abc"
    assert answer["response"]["allowed"] is True
    assert answer["response"]["patchType"] == "JSONPatch"
    import base64

    assert json.loads(base64.b64decode(answer["response"]["patch"])) == [
        {"op": "add", "path": "/a~1b", "value": 1}
    ]


def test_denial_carries_code_message_and_causes() -> None:
    """A denial's status has the code, the joined message and one cause per field."""
    problems = [
        webhook.Problem(field="spec.a", message="bad"),
        webhook.Problem(field="spec.b", message="worse"),
    ]
    answer = json.loads(webhook.encode_review("u", webhook.denied_for(problems)))
    status = answer["response"]["status"]
    assert answer["response"]["allowed"] is False
    assert status["code"] == 403
    assert status["message"] == "spec.a: bad; spec.b: worse"
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.a", "spec.b"]


def _problems(count: int, *, size: int = 50) -> list[webhook.Problem]:
    return [webhook.Problem(field=f"f{i}", message="x" * size) for i in range(count)]


@pytest.mark.parametrize(
    ("problems", "ending", "shown"),
    [
        pytest.param(_problems(3), "; f2: " + "x" * 50, 3, id="all-fit"),
        pytest.param(_problems(1, size=5000), "xxx…", 1, id="one-too-long-is-cut"),
        pytest.param(
            _problems(1, size=5000) + _problems(1), "x…; and 1 more problem", 1, id="first-cut"
        ),
        # 10 problems of 54 characters take 558 with their separators, the 11th ~950 more.
        pytest.param(
            _problems(10) + _problems(1, size=950), "; and 1 more problem", 10, id="one-more"
        ),
        # 17 take 950, and "; and 9,983 more problems" 25: 975; an 18th would make 1,031.
        pytest.param(_problems(10_000), "; and 9,983 more problems", 17, id="many-more"),
    ],
)
def test_denial_message_is_capped(problems: list[webhook.Problem], ending: str, shown: int) -> None:
    """Problems past the cap are counted, not listed, in the message and in the causes."""
    response = webhook.denied_for(problems)
    assert response.status is not None and response.status.details is not None
    assert len(response.status.message) <= webhook.MAX_MESSAGE_LENGTH
    assert response.status.message.endswith(ending), response.status.message[-60:]
    assert len(response.status.details.causes) == shown
    assert all(len(c.message) <= webhook.MAX_MESSAGE_LENGTH for c in response.status.details.causes)


@pytest.mark.parametrize(
    ("token", "escaped"),
    [
        pytest.param("a/b", "a~1b", id="slash"),
        pytest.param("a~b", "a~0b", id="tilde"),
        pytest.param("~1", "~01", id="tilde-one-stays-literal"),
    ],
)
def test_pointer_escaping(token: str, escaped: str) -> None:
    """JSON pointer tokens escape ``~`` before ``/`` (RFC 6901)."""
    from hpa.webhook import _json_patch as json_patch

    assert json_patch.pointer("metadata", token) == f"/metadata/{escaped}"
