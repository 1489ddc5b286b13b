"""The :class:`provisioning.CertStore` over the Kubernetes API: a Secret and the webhook
configurations, through ``hpa.kube``.

- ``load``: GET the Secret (``kubernetes.io/tls``; ``ca.crt``/``ca.key`` beside
  ``tls.crt``/``tls.key``); NotFound is "no certificates yet".
- ``save``: POST when there was no Secret (AlreadyExists: another replica won), else a merge
  patch carrying ``metadata.resourceVersion`` (Conflict: another replica wrote since the read).
  Both losses answer None, as the Protocol asks; the provisioner reads again.
- ``inject_ca_bundle``: a JSON patch per configuration setting ``clientConfig.caBundle`` of each
  webhook, each guarded by a ``test`` of the webhook's name so a configuration reordered
  meanwhile is refused rather than mis-patched. A configuration that does not exist (not
  installed, or cert-manager's overlay removed it) is logged and skipped.
"""

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec
import structlog

from hpa import api, kube
from hpa.certs import _provisioning as provisioning

log = structlog.get_logger(__name__)

SECRETS: Final = kube.Resource(
    group="", version="v1", plural="secrets", kind="Secret", namespaced=True
)
MUTATING_CONFIGURATIONS: Final = kube.Resource(
    group="admissionregistration.k8s.io",
    version="v1",
    plural="mutatingwebhookconfigurations",
    kind="MutatingWebhookConfiguration",
    namespaced=False,
)
VALIDATING_CONFIGURATIONS: Final = kube.Resource(
    group="admissionregistration.k8s.io",
    version="v1",
    plural="validatingwebhookconfigurations",
    kind="ValidatingWebhookConfiguration",
    namespaced=False,
)

SECRET_TYPE: Final = "kubernetes.io/tls"


class _Secret(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a Secret the store reads; msgspec decodes ``data``'s base64 into bytes."""

    metadata: api.ObjectMeta = api.ObjectMeta()
    data: dict[str, bytes] = {}


class _ClientConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    ca_bundle: bytes = b""


class _Webhook(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    name: str = ""
    client_config: _ClientConfig = _ClientConfig()


class _Configuration(msgspec.Struct, frozen=True, kw_only=True):
    webhooks: tuple[_Webhook, ...] = ()


class SecretCertStore:
    """Certificates in a Secret of hpa's namespace; the CA in hpa's webhook configurations."""

    def __init__(
        self,
        *,
        client: kube.Client,
        namespace: str,
        name: str = api.WEBHOOK_SECRET,
        mutating: Sequence[str] = (api.MUTATING_CONFIGURATION,),
        validating: Sequence[str] = (api.VALIDATING_CONFIGURATION,),
    ) -> None:
        """Args:
        client: the API client.
        namespace: the Secret's namespace (hpa's own).
        name: the Secret's name.
        mutating: names of the MutatingWebhookConfigurations to inject the CA into.
        validating: names of the ValidatingWebhookConfigurations to inject the CA into.
        """
        self._client = client
        self._namespace = namespace
        self._name = name
        self._configurations = [(MUTATING_CONFIGURATIONS, n) for n in mutating] + [
            (VALIDATING_CONFIGURATIONS, n) for n in validating
        ]

    async def load(self) -> provisioning.Stored | None:
        """The Secret's data and resourceVersion, or None if there is no Secret."""
        try:
            secret = await self._client.get(
                SECRETS, self._name, namespace=self._namespace, type=_Secret
            )
        except kube.NotFound:
            return None
        return provisioning.Stored(
            data=secret.data, resource_version=secret.metadata.resource_version
        )

    async def save(
        self, data: Mapping[str, bytes], *, resource_version: str | None
    ) -> provisioning.Stored | None:
        """Create the Secret, or replace its data at ``resource_version``; None if raced."""
        try:
            if resource_version is None:
                body: dict[str, Any] = {
                    "metadata": {
                        "name": self._name,
                        "namespace": self._namespace,
                        "labels": {"app.kubernetes.io/name": api.APP_NAME},
                    },
                    "type": SECRET_TYPE,
                    "data": dict(data),
                }
                secret = await self._client.create(
                    SECRETS, body, namespace=self._namespace, type=_Secret
                )
            else:
                patch = {"metadata": {"resourceVersion": resource_version}, "data": dict(data)}
                secret = await self._client.patch(
                    SECRETS, self._name, patch, namespace=self._namespace, type=_Secret
                )
        except (kube.AlreadyExists, kube.Conflict):
            return None
        return provisioning.Stored(
            data=secret.data, resource_version=secret.metadata.resource_version
        )

    async def inject_ca_bundle(self, ca_bundle: bytes) -> bool:
        """Set ``caBundle`` on every webhook of hpa's configurations that lacks it (a GitOps
        tool re-applying the manifests wipes it); returns whether anything was written."""
        written = False
        for resource, name in self._configurations:
            try:
                configuration = await self._client.get(resource, name, type=_Configuration)
                operations: list[dict[str, Any]] = []
                for index, hook in enumerate(configuration.webhooks):
                    if hook.client_config.ca_bundle == ca_bundle:
                        continue
                    operations.append(
                        {"op": "test", "path": f"/webhooks/{index}/name", "value": hook.name}
                    )
                    operations.append(
                        {
                            "op": "add",
                            "path": f"/webhooks/{index}/clientConfig/caBundle",
                            "value": base64.b64encode(ca_bundle).decode(),
                        }
                    )
                if operations:
                    await self._client.patch(
                        resource, name, operations, patch_type="json", type=_Configuration
                    )
                    written = True
            except kube.NotFound:
                log.warning("webhook configuration not found", configuration=name)
        return written
