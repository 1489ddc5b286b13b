"""Wire types shared by every kind: object metadata and status conditions."""

import datetime as dt
from typing import Annotated, Final

import msgspec

from hpa.api import _wire

CONDITION_TRUE: Final = "True"
CONDITION_FALSE: Final = "False"
CONDITION_UNKNOWN: Final = "Unknown"


class OwnerReference(_wire.Wire, frozen=True, kw_only=True):
    """An object that owns this one; garbage collection removes this one when it goes."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool = False
    block_owner_deletion: bool = False


class ObjectMeta(_wire.Wire, frozen=True, kw_only=True):
    """The part of ``metadata`` that hpa reads."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: dt.datetime | None = None
    deletion_timestamp: dt.datetime | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    finalizers: tuple[str, ...] = ()
    owner_references: tuple[OwnerReference, ...] = ()


class ListMeta(_wire.Wire, frozen=True, kw_only=True):
    """``metadata`` of a list response."""

    resource_version: str = ""
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


_REASON_PATTERN: Final = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class Condition(_wire.Wire, frozen=True, kw_only=True):
    """One aspect of an object's state, as metav1.Condition defines it."""

    type: Annotated[
        str,
        msgspec.Meta(
            max_length=316, description="Type of condition in CamelCase, e.g. Bound or Ready."
        ),
    ]
    status: Annotated[
        str,
        msgspec.Meta(
            description="True, False or Unknown.",
            extra_json_schema={"enum": [CONDITION_TRUE, CONDITION_FALSE, CONDITION_UNKNOWN]},
        ),
    ]
    reason: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=1024,
            pattern=_REASON_PATTERN,
            description="Machine-readable CamelCase reason for the last transition.",
        ),
    ]
    message: Annotated[str, msgspec.Meta(max_length=32768, description="Human-readable details.")]
    last_transition_time: Annotated[
        dt.datetime, msgspec.Meta(description="When the status last changed.")
    ]
    observed_generation: Annotated[
        int,
        msgspec.Meta(ge=0, description="The metadata.generation the condition was set from."),
    ] = 0


def now() -> dt.datetime:
    """The current time as Kubernetes stores it: UTC, whole seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def set_condition(conditions: tuple[Condition, ...], new: Condition) -> tuple[Condition, ...]:
    """Conditions with ``new`` put in place of the one of its type.

    As apimachinery's SetStatusCondition: ``lastTransitionTime`` moves only when the status
    changes, so it tells when the state was entered, not when it was last written.
    """
    kept = tuple(c for c in conditions if c.type != new.type)
    old = next((c for c in conditions if c.type == new.type), None)
    if old is not None and old.status == new.status:
        new = msgspec.structs.replace(new, last_transition_time=old.last_transition_time)
    return (*kept, new)


def find_condition(conditions: tuple[Condition, ...], type_: str) -> Condition | None:
    """The condition of the given type, if present."""
    return next((c for c in conditions if c.type == type_), None)
