"""The Go original's objects of ``tests/fixtures/original`` as the planner and the fake API
server take them."""

import copy
import pathlib
from typing import Any

import yaml

from hpa import api, migration
from tests import kubefake

Obj = dict[str, Any]

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "original"
CRDS = "customresourcedefinitions"
_PLURALS = {
    api.KIND_CLASS: api.PLURAL_CLASS,
    api.KIND_CLAIM: api.PLURAL_CLAIM,
    api.KIND_HOSTPORT: api.PLURAL_HOSTPORT,
    "Pod": "pods",
    "CustomResourceDefinition": CRDS,
}


def documents(*names: str) -> list[Obj]:
    """The objects of the fixture files (``installation``, ``conflicts``, ...), in order."""
    found: list[Obj] = []
    for name in names:
        found += [d for d in yaml.safe_load_all((FIXTURES / f"{name}.yaml").read_text()) if d]
    return found


def original_crds() -> dict[str, Obj]:
    return {crd["metadata"]["name"]: crd for crd in documents("crds")}


def hpa_crds() -> dict[str, Obj]:
    return {crd["metadata"]["name"]: crd for crd in api.custom_resource_definitions()}


def snapshot(*objects: Obj, crds: dict[str, Obj] | None = None, **extra: Any) -> migration.Snapshot:
    """A snapshot of ``objects`` (by kind), with the original's CRDs unless ``crds``."""
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(copy.deepcopy(obj))
    return migration.Snapshot(
        crds=original_crds() if crds is None else crds,
        classes=by_kind.get(api.KIND_CLASS, []),
        claims=by_kind.get(api.KIND_CLAIM, []),
        hostports=by_kind.get(api.KIND_HOSTPORT, []),
        pods=by_kind.get("Pod", []),
        **extra,
    )


def installation(*extra: str) -> list[Obj]:
    """The installation fixture (and ``extra`` fixture files), without the Namespace."""
    return [d for d in documents("installation", *extra) if d["kind"] in _PLURALS]


def seed(fake: kubefake.FakeApi, objects: list[Obj], *, crds: dict[str, Obj]) -> None:
    """Store ``objects`` and ``crds`` in the fake as they are (uids and status kept), as if the
    original had written them."""
    established = {
        "conditions": [
            {"type": "Established", "status": "True"},
            {"type": "NamesAccepted", "status": "True"},
        ]
    }
    for obj in [*({**crd, "status": established} for crd in crds.values()), *objects]:
        stored = copy.deepcopy(obj)
        meta = stored["metadata"]
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = "1"
        fake.objects.setdefault(_PLURALS[obj["kind"]], {})[
            (meta.get("namespace", ""), meta["name"])
        ] = stored


def by_name(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
