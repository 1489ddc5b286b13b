"""Dynamic admission control: calls the webhooks of Mutating/ValidatingWebhookConfigurations.

As kube-apiserver does ("Dynamic Admission Control"): configurations in name order, webhooks
in their order; a webhook is called when a rule matches (operations, apiGroups, apiVersions,
resources incl. ``*/status``-style subresources, scope), its ``namespaceSelector`` matches
the namespace's labels, its ``objectSelector`` matches the new or old object's labels, and
its ``matchConditions`` (CEL) hold. The call is an ``admission.k8s.io/v1`` AdmissionReview
over HTTPS, verified with ``clientConfig.caBundle``; ``clientConfig.service`` goes to the
address the sandbox's service map gives (the certificate must still be valid for
``<name>.<namespace>.svc``). Mutating webhooks return JSONPatch patches, applied in turn;
validating webhooks run after schema validation. A denial is the webhook's Status with the
message ``admission webhook "<name>" denied the request: <message>`` (code 403 unless the
webhook gives another 4xx/5xx); a failed call is a 500 under ``failurePolicy: Fail`` and is
skipped under ``Ignore``. Warnings go to ``Warning`` headers. Webhook configurations
themselves are never sent to webhooks.

ValidatingAdmissionPolicies run first in the validating phase, once per binding: the policy's
``matchConstraints`` and the binding's ``matchResources`` (rules, ``excludeResourceRules``,
``resourceNames``, namespace and object selectors) must both match; the CEL is evaluated in
:mod:`hpa.sandbox._policies`. A failed validation denies under the binding's ``Deny`` action
(``<resource> "<name>" is forbidden: ValidatingAdmissionPolicy '<policy>' with binding
'<binding>' denied request: <message>``, with the code of its reason and the part after the
colon as the one cause), and is a warning under ``Warn``.
"""

import base64
import ssl
import uuid
from typing import Any

import aiohttp
import anyio
import msgspec
import structlog

from hpa.sandbox import (
    _calls,
    _cel,
    _errors,
    _patching,
    _policies,
    _resources,
    _selectors,
    _store,
)

JSON = dict[str, Any]
logger = structlog.get_logger(__name__)

_MUTATING = ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")
_VALIDATING = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")
_POLICIES = ("admissionregistration.k8s.io", "validatingadmissionpolicies")
_BINDINGS = ("admissionregistration.k8s.io", "validatingadmissionpolicybindings")
_OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


class _CallFailed(Exception):
    """The webhook could not be called or answered nonsense."""


def _listed(values: list[str] | None, value: str) -> bool:
    return values is not None and ("*" in values or value in values)


def _resource_matches(patterns: list[str] | None, resource: str, subresource: str | None) -> bool:
    for pattern in patterns or ():
        if pattern == "*/*":
            return True
        main, _, sub = pattern.partition("/")
        if main not in ("*", resource):
            continue
        if (sub or None) == subresource or sub == "*":
            return True
    return False


def _rule_matches(rule: JSON, call: _calls.Call, operation: str, name: str = "") -> bool:
    resource = call.resource
    scope = rule.get("scope") or "*"
    if (scope == "Cluster" and resource.namespaced) or (
        scope == "Namespaced" and not resource.namespaced
    ):
        return False
    names = rule.get("resourceNames")  # policies only; webhook rules have none
    return (
        _listed(rule.get("operations"), operation)
        and _listed(rule.get("apiGroups"), resource.group)
        and _listed(rule.get("apiVersions"), resource.version)
        and _resource_matches(rule.get("resources"), resource.plural, call.subresource)
        and (not names or name in names)
    )


class Admission:
    """The webhook chain (see the module docstring)."""

    def __init__(
        self,
        *,
        store: _store.Store,
        registry: _resources.Registry,
        service_map: dict[tuple[str, str, int], str],
    ) -> None:
        self.store = store
        self.registry = registry
        self.service_map = service_map

    # -- selection -----------------------------------------------------------------------

    def _webhooks(self, storage: _store.StorageKey) -> list[JSON]:
        return [
            hook for config in self.store.items(storage) for hook in config.get("webhooks") or ()
        ]

    def _namespace_labels(self, call: _calls.Call, obj: JSON | None) -> dict[str, str] | None:
        if call.resource.storage_key == ("", "namespaces"):
            return (obj or {}).get("metadata", {}).get("labels") or {}
        if not call.resource.namespaced:
            return None
        namespace = self.store.get(("", "namespaces"), ("", call.namespace or ""))
        return ((namespace or {}).get("metadata") or {}).get("labels") or {}

    def _applies(
        self, hook: JSON, call: _calls.Call, operation: str, obj: JSON | None, old: JSON | None
    ) -> bool:
        if call.resource.group == "admissionregistration.k8s.io":
            return False
        if not any(_rule_matches(rule, call, operation) for rule in hook.get("rules") or ()):
            return False
        return self._selected(hook, call, obj, old) and self._conditions_hold(
            hook, call, operation, obj, old
        )

    def _selected(self, match: JSON, call: _calls.Call, obj: JSON | None, old: JSON | None) -> bool:
        """Whether ``match``'s namespaceSelector and objectSelector select the request."""
        labels = self._namespace_labels(call, obj or old)
        if labels is not None and not _selectors.matches_selector_object(
            match.get("namespaceSelector"), labels
        ):
            return False
        selector = match.get("objectSelector")
        if selector:
            candidates = [o for o in (obj, old) if o is not None]
            if not any(
                _selectors.matches_selector_object(selector, o["metadata"].get("labels") or {})
                for o in candidates
            ):
                return False
        return True

    def _resources_match(
        self,
        match: JSON,
        call: _calls.Call,
        operation: str,
        obj: JSON | None,
        old: JSON | None,
    ) -> bool:
        """A policy's ``matchConstraints`` or a binding's ``matchResources``: no rules means
        every resource (a binding's; a policy's are required)."""
        name = call.name or ((obj or old or {}).get("metadata") or {}).get("name", "")
        rules = match.get("resourceRules")
        if rules is not None and not any(_rule_matches(r, call, operation, name) for r in rules):
            return False
        excluded = match.get("excludeResourceRules") or ()
        if any(_rule_matches(r, call, operation, name) for r in excluded):
            return False
        return self._selected(match, call, obj, old)

    def _conditions_hold(
        self, hook: JSON, call: _calls.Call, operation: str, obj: JSON | None, old: JSON | None
    ) -> bool:
        conditions = hook.get("matchConditions") or ()
        if not conditions:
            return True
        variables = {
            "object": obj,
            "oldObject": old,
            "request": self._request(call, operation, obj, old, uid=""),
        }
        for condition in conditions:
            try:
                if _cel.compile_rule(condition["expression"]).execute(variables) is not True:
                    return False
            except Exception as error:
                raise _CallFailed(
                    f"matchCondition {condition.get('name')!r} failed: {error}"
                ) from error
        return True

    # -- the review ----------------------------------------------------------------------

    def _request(
        self, call: _calls.Call, operation: str, obj: JSON | None, old: JSON | None, *, uid: str
    ) -> JSON:
        resource = call.resource
        name = call.name or ((obj or old or {}).get("metadata") or {}).get("name", "")
        request: JSON = {
            "uid": uid,
            "kind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
            "resource": {
                "group": resource.group,
                "version": resource.version,
                "resource": resource.plural,
            },
            "requestKind": {
                "group": resource.group,
                "version": resource.version,
                "kind": resource.kind,
            },
            "requestResource": {
                "group": resource.group,
                "version": resource.version,
                "resource": resource.plural,
            },
            "name": name,
            "operation": operation,
            "userInfo": {
                "username": call.user,
                "groups": ["system:masters", "system:authenticated"],
            },
            "object": obj,
            "oldObject": old,
            "dryRun": call.dry_run,
            "options": {
                "apiVersion": "meta.k8s.io/v1",
                "kind": _OPTIONS.get(operation, "CreateOptions"),
            },
        }
        if call.namespace:
            request["namespace"] = call.namespace
        if call.subresource:
            request["subResource"] = call.subresource
            request["requestSubResource"] = call.subresource
        return request

    def _endpoint(self, hook: JSON) -> tuple[str, str | None]:
        config = hook.get("clientConfig") or {}
        if config.get("url"):
            return config["url"], None
        service = config.get("service") or {}
        key = (service.get("namespace", ""), service.get("name", ""), int(service.get("port", 443)))
        address = self.service_map.get(key)
        if address is None:
            raise _CallFailed(
                f'service "{key[1]}" not found in namespace "{key[0]}" '
                "(no sandbox service_map entry)"
            )
        return f"https://{address}{service.get('path') or '/'}", f"{key[1]}.{key[0]}.svc"

    def _ssl(self, hook: JSON) -> ssl.SSLContext:
        bundle = (hook.get("clientConfig") or {}).get("caBundle")
        if not bundle:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cadata=base64.b64decode(bundle).decode())
        except (ValueError, ssl.SSLError) as error:
            raise _CallFailed(f"invalid caBundle: {error}") from error

    async def _post(self, hook: JSON, review: JSON) -> JSON:
        url, server_hostname = self._endpoint(hook)
        timeout = float(hook.get("timeoutSeconds") or 10)
        try:
            with anyio.fail_after(timeout):
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(
                        url,
                        data=msgspec.json.encode(review),
                        headers={"Content-Type": "application/json", "Accept": "application/json"},
                        ssl=self._ssl(hook),
                        server_hostname=server_hostname,
                    ) as response,
                ):
                    body = await response.read()
                    if response.status != 200:
                        raise _CallFailed(
                            f"expected response status 200, got {response.status}: {body[:200]!r}"
                        )
        except TimeoutError as error:
            raise _CallFailed(
                f'failed to call webhook: Post "{url}": context deadline exceeded'
            ) from error
        except aiohttp.ClientError as error:
            raise _CallFailed(f'failed to call webhook: Post "{url}": {error}') from error
        try:
            answer = msgspec.json.decode(body)
        except msgspec.DecodeError as error:
            raise _CallFailed(f"received invalid webhook response: {error}") from error
        if not isinstance(answer, dict) or not isinstance(answer.get("response"), dict):
            raise _CallFailed("received invalid webhook response: no response")
        result: JSON = answer["response"]
        if result.get("uid") != review["request"]["uid"]:
            raise _CallFailed(
                f"expected response.uid={review['request']['uid']!r}, got {result.get('uid')!r}"
            )
        return result

    async def _review(
        self, hook: JSON, call: _calls.Call, operation: str, obj: JSON | None, old: JSON | None
    ) -> JSON | None:
        """The webhook's response; ``None`` if it failed and may be ignored."""
        name = hook.get("name", "")
        if call.dry_run and hook.get("sideEffects") not in ("None", "NoneOnDryRun"):
            raise _errors.bad_request(f'admission webhook "{name}" does not support dry run')
        try:
            if not self._applies(hook, call, operation, obj, old):
                return {"allowed": True, "_skipped": True}
            review = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": self._request(call, operation, obj, old, uid=str(uuid.uuid4())),
            }
            result = await self._post(hook, review)
        except _CallFailed as error:
            if (hook.get("failurePolicy") or "Fail") == "Ignore":
                logger.warning("webhook failed, ignored", webhook=name, error=str(error))
                return None
            raise _errors.internal(
                f'Internal error occurred: failed calling webhook "{name}": {error}'
            ) from error
        call.warnings.extend(str(w) for w in result.get("warnings") or ())
        if not result.get("allowed"):
            raise _denial(name, result.get("status") or {})
        return result

    async def mutate(
        self, call: _calls.Call, *, operation: str, obj: JSON | None, old: JSON | None
    ) -> JSON | None:
        """Run mutating webhooks in order; returns the patched object."""
        for hook in self._webhooks(_MUTATING):
            result = await self._review(hook, call, operation, obj, old)
            if result is None or not result.get("patch") or obj is None:
                continue
            if result.get("patchType", "JSONPatch") != "JSONPatch":
                raise _errors.internal(
                    f'Internal error occurred: failed calling webhook "{hook.get("name")}": '
                    "unsupported patch type"
                )
            try:
                operations = msgspec.json.decode(base64.b64decode(result["patch"]))
            except (ValueError, msgspec.DecodeError) as error:
                raise _errors.internal(
                    f"Internal error occurred: invalid patch from webhook: {error}"
                ) from error
            patched = _patching.json_patch(obj, operations)
            if not isinstance(patched, dict):
                raise _errors.internal(
                    "Internal error occurred: the webhook's patch did not produce an object"
                )
            obj = patched
        return obj

    async def validate(
        self, call: _calls.Call, *, operation: str, obj: JSON | None, old: JSON | None
    ) -> None:
        """Run the admission policies, then the validating webhooks; raises on a denial."""
        self._check_policies(call, operation, obj, old)
        for hook in self._webhooks(_VALIDATING):
            await self._review(hook, call, operation, obj, old)

    def _check_policies(
        self, call: _calls.Call, operation: str, obj: JSON | None, old: JSON | None
    ) -> None:
        if call.resource.group == "admissionregistration.k8s.io":
            return
        context: JSON | None = None
        for binding in self.store.items(_BINDINGS):
            spec = binding.get("spec") or {}
            policy = self.store.get(_POLICIES, ("", spec.get("policyName", "")))
            if policy is None:
                continue
            constraints = (policy.get("spec") or {}).get("matchConstraints") or {}
            if not self._resources_match(constraints, call, operation, obj, old):
                continue
            if not self._resources_match(
                spec.get("matchResources") or {}, call, operation, obj, old
            ):
                continue
            if context is None:
                namespace = None
                if call.resource.namespaced and call.namespace:
                    namespace = self.store.get(("", "namespaces"), ("", call.namespace))
                context = {
                    "object": obj,
                    "oldObject": old,
                    "request": self._request(call, operation, obj, old, uid=str(uuid.uuid4())),
                    "namespaceObject": namespace,
                }
            actions = spec.get("validationActions") or ()
            names = f"'{policy['metadata']['name']}' with binding '{binding['metadata']['name']}'"
            for failure in _policies.evaluate(policy, context) or ():
                if "Warn" in actions:
                    call.warnings.append(
                        f"Validation failed for ValidatingAdmissionPolicy {names}: "
                        f"{failure.message}"
                    )
                if "Deny" in actions:
                    raise _policy_denial(
                        call, obj or old or {},
                        f"ValidatingAdmissionPolicy {names} denied request: {failure.message}",
                        code=failure.code, reason=failure.reason,
                    )  # fmt: skip


def _policy_denial(
    call: _calls.Call, obj: JSON, message: str, *, code: int, reason: str
) -> _errors.ApiError:
    """A policy's denial as kube-apiserver words it: a Forbidden message whose code and
    reason are the policy's, with the policy's message as the one cause."""
    name = (obj.get("metadata") or {}).get("name") or call.name or ""
    resource = _errors.qualified(call.resource.plural, call.resource.group)
    details: JSON = {"name": name, "kind": call.resource.plural, "causes": [{"message": message}]}
    if call.resource.group:
        details["group"] = call.resource.group
    return _errors.ApiError(
        code, reason, f'{resource} "{name}" is forbidden: {message}', details=details
    )


def _denial(name: str, status: JSON) -> _errors.ApiError:
    denied = f'admission webhook "{name}" denied the request'
    code = int(status.get("code") or 0)
    if code < 400:
        code = 403
    if status.get("message"):
        message = f"{denied}: {status['message']}"
    elif status.get("reason"):
        message = f"{denied}: {status['reason']}"
    else:
        message = f"{denied} without explanation"
    return _errors.ApiError(
        code, status.get("reason") or "", message, details=status.get("details")
    )
