"""Server-side printing: the ``meta.k8s.io/v1 Table`` kubectl asks for with
``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``.

Custom resources get a Name column plus their CRD's ``additionalPrinterColumns`` (JSONPath
evaluated here, ``priority`` kept so ``-o wide`` shows the rest, ``date`` cells rendered as
ages), or Name and "Created At" without columns, as the
apiextensions table convertor does. Built-in kinds get the first columns kube-apiserver prints
for them (pods: Name, Ready, Status, Restarts, Age).
"""

import datetime
import re
from collections.abc import Callable
from typing import Any, Final

from hpa.sandbox import _resources

JSON = dict[str, Any]

_NAME: Final = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_SEGMENT: Final = re.compile(r"\.?([^.\[\]]+)|\[(\*|\d+)\]")


def jsonpath(obj: Any, path: str) -> Any:
    """Evaluate the simple JSONPath of a printer column (``.a.b[0].c``, ``[*]``)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    values: list[Any] = [obj]
    for match in _SEGMENT.finditer(path):
        name, index = match.groups()
        found: list[Any] = []
        for value in values:
            if name is not None and isinstance(value, dict) and name in value:
                found.append(value[name])
            elif index == "*" and isinstance(value, list):
                found.extend(value)
            elif index not in (None, "*") and isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
        values = found
    if not values:
        return None
    return values[0] if len(values) == 1 else ",".join(str(v) for v in values)


def age(timestamp: str | None, now: datetime.datetime | None = None) -> str:
    """A creation timestamp as kubectl's short age (``5s``, ``3m``, ``2d4h``)."""
    if not timestamp:
        return "<unknown>"
    then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int(((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _column(name: str, type: str = "string", *, priority: int = 0, format: str = "") -> JSON:
    return {"name": name, "type": type, "format": format, "description": "", "priority": priority}


def _pod_cells(pod: JSON) -> list[Any]:
    containers = pod.get("spec", {}).get("containers") or []
    statuses = pod.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    status = pod.get("status", {}).get("phase", "Pending")
    if pod["metadata"].get("deletionTimestamp"):
        status = "Terminating"
    return [f"{ready}/{len(containers)}", status, restarts]


def _data_count(obj: JSON) -> list[Any]:
    return [len(obj.get("data") or {}) + len(obj.get("binaryData") or {})]


_BUILTIN: Final[dict[str, tuple[list[JSON], Callable[[JSON], list[Any]]]]] = {
    "pods": (
        [_column("Ready"), _column("Status"), _column("Restarts", "integer")],
        _pod_cells,
    ),
    "namespaces": ([_column("Status")], lambda o: [o.get("status", {}).get("phase", "Active")]),
    "configmaps": ([_column("Data", "integer")], _data_count),
    "secrets": (
        [_column("Type"), _column("Data", "integer")],
        lambda o: [o.get("type", "Opaque"), *_data_count(o)],
    ),
    "leases": (
        [_column("Holder")],
        lambda o: [o.get("spec", {}).get("holderIdentity", "")],
    ),
    "events": (
        [_column("Type"), _column("Reason"), _column("Object"), _column("Message")],
        lambda o: [
            o.get("type", ""),
            o.get("reason", ""),
            "{}/{}".format(
                o.get("involvedObject", {}).get("kind", "").lower(),
                o.get("involvedObject", {}).get("name", ""),
            ),
            o.get("message", ""),
        ],
    ),
    "services": (
        [_column("Type"), _column("Cluster-IP")],
        lambda o: [
            o.get("spec", {}).get("type", "ClusterIP"),
            o.get("spec", {}).get("clusterIP", "<none>"),
        ],
    ),
}


def _custom(resource: _resources.Resource, obj: JSON) -> tuple[list[JSON], list[Any]]:
    if not resource.columns:
        created = obj["metadata"].get("creationTimestamp")
        return [_column("Created At", "date")], [created]
    columns = [
        _column(c["name"], c.get("type", "string"), priority=c.get("priority", 0),
                format=c.get("format", ""))
        | {"description": c.get("description", "")}
        for c in resource.columns
    ]  # fmt: skip
    cells = [_cell(c, jsonpath(obj, c["jsonPath"])) for c in resource.columns]
    return columns, cells


def _cell(column: JSON, value: Any) -> Any:
    # The apiextensions table convertor renders date columns as ages, server-side.
    if column.get("type") == "date" and isinstance(value, str):
        return age(value)
    return value


def columns_and_cells(resource: _resources.Resource, obj: JSON) -> tuple[list[JSON], list[Any]]:
    """The column definitions (without Name) and the cells (without the name) of one object."""
    if resource.custom:
        return _custom(resource, obj)
    extra, cells = _BUILTIN.get(resource.plural, ([], lambda o: []))
    if resource.plural == "customresourcedefinitions":
        return [_column("Created At", "date")], [obj["metadata"].get("creationTimestamp")]
    return [*extra, _column("Age")], [*cells(obj), age(obj["metadata"].get("creationTimestamp"))]


def _row_object(resource: _resources.Resource, obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def table(
    resource: _resources.Resource,
    objects: list[JSON],
    *,
    list_meta: JSON,
    include: str = "Metadata",
) -> JSON:
    """A Table of objects (``include`` is the ``includeObject`` query parameter)."""
    columns: list[JSON] | None = None
    rows: list[JSON] = []
    for obj in objects:
        defined, cells = columns_and_cells(resource, obj)
        columns = columns or defined
        row: JSON = {"cells": [obj["metadata"]["name"], *cells]}
        row_object = _row_object(resource, obj, include)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    if columns is None:
        columns = columns_and_cells(resource, {"metadata": {}})[0]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [_NAME, *columns],
        "rows": rows,
    }
