"""``metav1.MicroTime``: the time format of Leases and of the newer Events."""

import datetime as dt


def micro_time(moment: dt.datetime) -> str:
    """A time as ``metav1.MicroTime`` (RFC 3339 with exactly six fractional digits)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
