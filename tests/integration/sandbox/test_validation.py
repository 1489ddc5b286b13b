"""Schema and CEL validation of custom resources (CRDs: "Validation", "Validation rules",
"Field pruning"; API concepts: "Field validation")."""

from typing import Any

import pytest

from tests.integration.sandbox.conftest import (
    CLAIMS,
    CLASSES,
    GROUP,
    HOSTPORTS,
    Api,
    claim,
    port_class,
)


def _causes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in body["details"]["causes"]]


@pytest.mark.parametrize(
    ("pools", "field", "message"),
    [
        pytest.param(
            [{"start": 0, "end": 5}],
            "spec.pools[0].start",
            "Invalid value: 0: spec.pools[0].start in body should be greater than or equal to 1",
            id="minimum",
        ),
        pytest.param(
            [{"start": 1, "end": 70000}],
            "spec.pools[0].end",
            "Invalid value: 70000: spec.pools[0].end in body should be less than or equal to 65535",
            id="maximum",
        ),
        pytest.param(
            [{"start": "x", "end": 5}],
            "spec.pools[0].start",
            'Invalid value: "string": '
            'spec.pools[0].start in body must be of type integer: "string"',
            id="type",
        ),
        pytest.param([{"end": 5}], "spec.pools[0].start", "Required value", id="required"),
        pytest.param(
            [{"start": 9, "end": 5}],
            "spec.pools[0].start",
            'Invalid value: "object": start must be less than or equal to end',
            id="cel-field-path",
        ),
        pytest.param(
            [{"start": 1, "end": 5}, {"start": 5, "end": 9}],
            "spec.pools",
            'Invalid value: "array": pools of one class must not overlap; merge or split them',
            id="cel-nested-macros",
        ),
    ],
)
async def test_invalid_objects_are_422_with_field_causes(
    api: Api, pools: list[dict[str, Any]], field: str, message: str
) -> None:
    """Schema and CEL failures answer 422 Invalid with one cause per field.

    Ref: CRDs, "Validation" and "Validation rules"; API conventions, "Validation".
    """
    answer = await api.post(CLASSES, port_class("c", pools))
    assert answer.status == 422
    assert answer.body["reason"] == "Invalid"
    assert answer.body["details"]["kind"] == "HostPortClass"
    assert (field, message) in _causes(answer.body)
    assert answer.body["message"].startswith('HostPortClass.hostport.rmb938.com "c" is invalid: ')


async def test_transition_rule_rejects_a_changed_immutable_field(api: Api) -> None:
    """A ``self == oldSelf`` rule runs on update only and rejects the change.

    Ref: CRDs, "Transition rules".
    """
    assert (await api.post(CLAIMS, claim("a"))).status == 201
    answer = await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortClassName": "other"}})
    assert answer.status == 422
    assert _causes(answer.body) == [
        (
            "spec.hostPortClassName",
            'Invalid value: "string": hostPortClassName is immutable; '
            "delete and re-create the object",
        )
    ]


async def test_transition_rule_with_has_old_self(api: Api) -> None:
    """``!has(oldSelf.x) || ...`` lets a field be set once, then never changed or removed.

    Ref: CRDs, "Transition rules".
    """
    await api.post(CLAIMS, claim("a"))
    assert (await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortName": "port-1"}})).status == 200
    changed = await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortName": "port-2"}})
    removed = await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortName": None}})
    assert changed.status == removed.status == 422
    assert _causes(changed.body)[0][0] == "spec.hostPortName"


async def test_root_rule_reads_metadata_name(api: Api) -> None:
    """A root rule sees ``self.metadata.name`` and ``string(int)`` works.

    Ref: CRDs, "Validation rules" (metadata.name and generateName are accessible).
    """
    hostport = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "HostPort",
        "spec": {"hostPortClassName": "c", "port": 9000},
    }
    good = await api.post(HOSTPORTS, {**hostport, "metadata": {"name": "port-9000"}})
    bad = await api.post(HOSTPORTS, {**hostport, "metadata": {"name": "port-9001"}})
    assert good.status == 201
    assert bad.status == 422
    assert "metadata.name must be port-<spec.port>" in bad.body["message"]


async def test_enum_failure_lists_supported_values(api: Api) -> None:
    """An enum violation is ``Unsupported value`` with the allowed values.

    Ref: CRDs, "Validation" (enum).
    """
    await api.post(CLAIMS, claim("a"))
    answer = await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Lost"}})
    assert answer.status == 422
    assert _causes(answer.body) == [
        (
            "status.phase",
            'Unsupported value: "Lost": supported values: "Pending", "Bound", "Deleting"',
        )
    ]


async def test_unknown_fields_are_pruned_with_a_warning_by_default(api: Api) -> None:
    """Unknown fields are dropped, and reported in a Warning header (fieldValidation=Warn).

    Ref: CRDs, "Field pruning"; API concepts, "Field validation".
    """
    answer = await api.post(CLAIMS, claim("a", extra="x"))
    assert answer.status == 201
    assert "extra" not in answer.body["spec"]
    assert answer.headers.getall("Warning") == ['299 - "unknown field \\"spec.extra\\""']


async def test_strict_field_validation_rejects_unknown_fields(api: Api) -> None:
    """fieldValidation=Strict answers 400 naming the unknown field.

    Ref: API concepts, "Field validation".
    """
    answer = await api.post(CLAIMS, claim("a", extra="x"), params={"fieldValidation": "Strict"})
    assert answer.status == 400
    assert answer.body["message"] == 'strict decoding error: unknown field "spec.extra"'


async def test_names_must_be_dns_subdomains(api: Api) -> None:
    """metadata.name is validated as an RFC 1123 subdomain.

    Ref: Object names and IDs, "DNS Subdomain Names".
    """
    answer = await api.post(CLAIMS, claim("Not_Valid"))
    assert answer.status == 422
    assert answer.body["details"]["causes"][0]["field"] == "metadata.name"


async def test_a_new_crd_is_served_and_discovered(api: Api) -> None:
    """Creating a CRD serves its resource and lists it in discovery; deleting it stops both.

    Ref: CRDs, "Create a CustomResourceDefinition" and "Delete a CustomResourceDefinition".
    """
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    created = await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert created.status == 201
    conditions = {c["type"]: c["status"] for c in created.body["status"]["conditions"]}
    assert conditions["Established"] == "True"
    resources = await api.get("/apis/example.com/v1")
    assert [r["name"] for r in resources.body["resources"]] == ["widgets"]
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"any": 1},
    }
    made = await api.post("/apis/example.com/v1/namespaces/default/widgets", widget)
    assert made.status == 201 and made.body["spec"] == {"any": 1}
    await api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert (await api.get("/apis/example.com/v1")).status == 404
    assert (await api.get("/apis/example.com/v1/namespaces/default/widgets")).status == 404
