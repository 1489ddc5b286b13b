"""ObjectMeta rules: names, generated names, system fields and generation.

From the API conventions ("Metadata") and API concepts ("Generated values"): the server owns
``uid``, ``creationTimestamp``, ``resourceVersion``, ``generation`` and ``deletionTimestamp``;
clients' values for them are ignored on create and kept from the stored object on update.
``generation`` counts changes to the desired state only: anything but ``metadata`` and
``status``.
"""

import datetime
import re
import secrets
import uuid
from typing import Any, Final

from hpa.sandbox import _errors, _resources

JSON = dict[str, Any]

_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME: Final = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
#: kube's name generator alphabet: no vowels, no confusable digits.
_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
#: Resources whose names are DNS labels rather than subdomains.
_LABEL_NAMED: Final = frozenset({("", "namespaces"), ("", "services")})
_SYSTEM: Final = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "name",
)

SUBDOMAIN_MESSAGE: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def now() -> str:
    """The current time as an RFC 3339 timestamp with second precision."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    """``generateName`` plus five random characters, as kube's SimpleNameGenerator."""
    return prefix[:58] + "".join(secrets.choice(_ALPHABET) for _ in range(5))


def _name_causes(resource: _resources.Resource, name: str) -> list[JSON]:
    label = (resource.group, resource.plural) in _LABEL_NAMED
    pattern, message, limit = (
        (_LABEL, LABEL_MESSAGE, 63) if label else (_SUBDOMAIN, SUBDOMAIN_MESSAGE, 253)
    )
    causes = []
    if len(name) > limit:
        causes.append(
            _errors.field_cause(
                "metadata.name",
                f'Invalid value: "{name}": must be no more than {limit} characters',
            )
        )
    if not pattern.match(name):
        causes.append(_errors.field_cause("metadata.name", f'Invalid value: "{name}": {message}'))
    return causes


def _label_causes(labels: Any) -> list[JSON]:
    if not isinstance(labels, dict):
        return []
    causes = []
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (
            not _QUALIFIED_NAME.match(name)
            or len(name) > 63
            or (prefix and not _SUBDOMAIN.match(prefix))
        ):
            causes.append(
                _errors.field_cause(
                    "metadata.labels",
                    f'Invalid value: "{key}": name part must consist of alphanumeric characters, '
                    "'-', '_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                _errors.field_cause(
                    "metadata.labels",
                    f'Invalid value: "{value}": a valid label must be an empty string or consist '
                    "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
    return causes


def validate(resource: _resources.Resource, obj: JSON) -> list[JSON]:
    """Field errors of ``metadata``."""
    meta = obj.get("metadata") or {}
    causes = _name_causes(resource, meta.get("name", ""))
    causes.extend(_label_causes(meta.get("labels")))
    return causes


def prepare_create(resource: _resources.Resource, obj: JSON, namespace: str | None) -> None:
    """Fill the system fields of a new object in place (name is settled by the caller)."""
    meta = obj["metadata"]
    for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "resourceVersion", "generation", "selfLink"):  # fmt: skip
        meta.pop(field, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now()
    if resource.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if tracks_generation(resource):
        meta["generation"] = 1
    obj["apiVersion"] = resource.api_version
    obj["kind"] = resource.kind


def tracks_generation(resource: _resources.Resource) -> bool:
    """Whether the kind keeps ``metadata.generation``."""
    return (
        resource.custom
        or resource.group in ("apps", "apiextensions.k8s.io")
        or (resource.group.startswith("admissionregistration"))
    )


def desired(obj: JSON) -> JSON:
    """The part of an object whose changes bump the generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def carry_over(resource: _resources.Resource, current: JSON, new: JSON) -> None:
    """Keep the server-owned metadata of ``current`` in ``new`` and bump generation if due."""
    meta = new.setdefault("metadata", {})
    old_meta = current["metadata"]
    for field in _SYSTEM:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if tracks_generation(resource) and desired(new) != desired(current):
        meta["generation"] = int(old_meta.get("generation", 1)) + 1
    new["apiVersion"] = resource.api_version
    new["kind"] = resource.kind


def same_content(current: JSON, new: JSON) -> bool:
    """Whether an update changes nothing (kube then skips the write and keeps the version)."""
    old_meta = {
        k: v
        for k, v in current["metadata"].items()
        if k not in ("resourceVersion", "managedFields")
    }
    new_meta = {
        k: v for k, v in new["metadata"].items() if k not in ("resourceVersion", "managedFields")
    }
    if old_meta != new_meta:
        return False
    strip = ("metadata", "apiVersion")
    return {k: v for k, v in current.items() if k not in strip} == {
        k: v for k, v in new.items() if k not in strip
    }


def restore_system(original: JSON, mutated: JSON, *, resource: _resources.Resource) -> None:
    """Undo a webhook's changes to server-owned fields of a new object."""
    meta = mutated.setdefault("metadata", {})
    for field in (*_SYSTEM, "resourceVersion"):
        if field in original["metadata"]:
            meta[field] = original["metadata"][field]
        else:
            meta.pop(field, None)
    mutated["apiVersion"] = resource.api_version
    mutated["kind"] = resource.kind
