"""What the webhook writes to the cluster: one narrow Protocol, implemented by the operator.

Admission makes one kind of write only: for a pod with a
``template.hostport.rmb938.com/<portName>`` annotation, the mutating webhook makes the pod's
own claim and binds it before the pod is created, because the pod needs its port then and the
webhook cannot wait for the operator. The implementation (``hpa.controllers``, wired by
``hpa.cli``) binds with the claim reconciler's own steps, so racing the operator is safe; tests
use in-memory fakes.
"""

from collections.abc import Sequence
from typing import Protocol

from hpa import api


class ClaimProvisioner(Protocol):
    """Makes a pod's own claim and binds it in the admission path (implemented by the
    operator's manager, which holds the port index)."""

    async def provision(
        self,
        *,
        namespace: str,
        name: str,
        class_name: str,
        pod_name: str,
        owners: Sequence[api.OwnerReference],
    ) -> api.HostPortClaim | str:
        """Create (or find) claim ``namespace/name`` of the class for the pod and bind it.

        Returns:
            The Bound claim, or why it is not Bound (the webhook denies with that message).

        Raises:
            Exception: any failure to read or write; the webhook denies with a retry hint.
        """
        ...
