"""The request a handler hands to the engine: what is addressed and how to write it."""

import dataclasses
from typing import Any

from hpa.sandbox import _resources

JSON = dict[str, Any]


@dataclasses.dataclass(kw_only=True)
class Call:
    """One API request, decoded from the URL and query (the body travels separately)."""

    resource: _resources.Resource
    verb: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    dry_run: bool = False
    #: ``Strict``, ``Warn`` (the server's default) or ``Ignore``.
    field_validation: str = "Warn"
    #: The ``Warning`` headers to answer with (299 warnings, without the agent prefix).
    warnings: list[str] = dataclasses.field(default_factory=list)
    user: str = "sandbox-admin"
    #: Options object for admission review (CreateOptions, UpdateOptions...).
    options: JSON | None = None
