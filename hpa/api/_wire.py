"""The one base of every wire Struct hpa decodes or encodes.

Frozen, keyword-only, camelCase on the wire and omitting defaults, so an encoded Struct is a
minimal body. Unknown fields are ignored on decode: a newer server or another controller may add
fields this version does not know, which is also why the code never PUTs back a decoded object
and writes with patches instead.
"""

import msgspec


class Wire(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Base of every wire Struct: the Kubernetes objects, reviews and their parts."""
