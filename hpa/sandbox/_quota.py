"""Object-count ResourceQuota: ``count/<resource>.<group>`` in ``spec.hard``.

kube-apiserver's ResourceQuota admission plugin runs last in the admission chain: a create of
an object whose namespace has a quota with ``count/<plural>.<group>`` (``count/<plural>`` for
the core group) in ``spec.hard`` is refused with ``403 Forbidden`` when it would take the
count above the limit, with kube's message::

    <plural>.<group> "<name>" is forbidden: exceeded quota: <quota>, requested: <key>=1,
    used: <key>=<n>, limited: <key>=<hard>

The quota controller keeps ``status.hard`` equal to ``spec.hard`` and ``status.used`` current
for the keys it evaluates; keys it does not know (those other controllers maintain, such as
hpa's per-class claim quota) keep the used value they had, as kube's controller does. Here
both happen synchronously on every create and delete, so ``used`` is exact. Only object counts
are evaluated (no compute resources, scopes or scope selectors).
"""

from typing import Any, Final

from hpa.sandbox import _calls, _engine, _errors, _resources, _store

JSON = dict[str, Any]

QUOTAS: Final = ("", "resourcequotas")


def count_key(resource: _resources.Resource) -> str:
    """The object-count quota key of a resource, e.g. ``count/widgets.example.com``."""
    return f"count/{_errors.qualified(resource.plural, resource.group)}"


def _limit(value: Any) -> int | None:
    """A whole-number quantity (``"3"``, ``3``, ``"2k"``); None for anything else."""
    text = str(value).strip()
    for suffix, factor in (("k", 1000), ("M", 1000**2), ("G", 1000**3)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            return int(text[: -len(suffix)]) * factor
    return int(text) if text.isdigit() else None


class Quotas:
    """Enforces object-count quota on create and keeps quotas' status current."""

    def __init__(self, engine: _engine.Engine) -> None:
        self._engine = engine
        engine.create_checks.append(self.check)
        engine.hooks.append(self._on_event)

    def _count(self, resource: _resources.Resource, namespace: str) -> int:
        return sum(1 for _ in self._engine.store.items(resource.storage_key, namespace=namespace))

    def check(self, call: _calls.Call, obj: JSON) -> None:
        """Raise 403 Forbidden if creating ``obj`` would exceed a quota of its namespace."""
        resource = call.resource
        if not resource.namespaced or resource.storage_key == QUOTAS or not call.namespace:
            return
        key = count_key(resource)
        for quota in self._engine.store.items(QUOTAS, namespace=call.namespace):
            hard = (quota.get("spec") or {}).get("hard") or {}
            limit = _limit(hard.get(key, ""))
            if limit is None:
                continue
            used = self._count(resource, call.namespace)
            if used + 1 > limit:
                name = obj["metadata"].get("name", "")
                qualified = _errors.qualified(resource.plural, resource.group)
                raise _errors.forbidden(
                    f'{qualified} "{name}" is forbidden: exceeded quota: '
                    f"{quota['metadata']['name']}, requested: {key}=1, used: {key}={used}, "
                    f"limited: {key}={hard[key]}",
                    details={"name": name, "group": resource.group, "kind": resource.plural},
                )

    async def _on_event(self, resource: _resources.Resource, event: _store.Event) -> None:
        namespace = event.obj["metadata"].get("namespace", "")
        if event.storage == QUOTAS:
            if event.type != "DELETED":
                await self._refresh(event.obj)
            return
        if not resource.namespaced or event.type == "MODIFIED" or not namespace:
            return
        key = count_key(resource)
        for quota in list(self._engine.store.items(QUOTAS, namespace=namespace)):
            if key in ((quota.get("spec") or {}).get("hard") or {}):
                await self._refresh(quota)

    def _used(self, namespace: str, hard: JSON, old: JSON) -> JSON:
        used = {key: value for key, value in old.items() if key in hard}
        for key in hard:
            if not key.startswith("count/"):
                continue
            resource = self._resource_of(key.removeprefix("count/"))
            if resource is not None:
                used[key] = str(self._count(resource, namespace))
        return used

    def _resource_of(self, qualified: str) -> _resources.Resource | None:
        plural, _, group = qualified.partition(".")
        resource = self._engine.registry.by_storage((group, plural))
        return resource if resource is not None and resource.namespaced else None

    async def _refresh(self, quota: JSON) -> None:
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        status = quota.get("status") or {}
        namespace = quota["metadata"]["namespace"]
        wanted = {"hard": hard, "used": self._used(namespace, hard, status.get("used") or {})}
        if status == wanted:
            return
        updated = _engine.clone(quota)
        updated["status"] = wanted
        await self._engine.commit("MODIFIED", self._quota_resource(), updated)

    def _quota_resource(self) -> _resources.Resource:
        found = self._engine.registry.get("", "v1", "resourcequotas")
        assert found is not None
        return found
