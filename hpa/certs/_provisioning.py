"""Self-provisioned webhook certificates, shared by replicas through one Secret.

By default hpa needs no cert-manager: the first replica to start creates a CA and a serving
certificate and stores them in a Secret (keys :data:`CA_BUNDLE`, :data:`CA_KEY`,
:data:`TLS_CERT`, :data:`TLS_KEY`); every replica serves what the Secret holds and writes the CA
into its webhook configurations' ``caBundle``.

- Agreement: the Secret is created only if absent, and replaced only at the resourceVersion that
  was read (:meth:`CertStore.save` answers None when another replica won); the loser reads
  again and serves the winner's certificate. Two replicas never serve from different CAs for
  longer than one refresh interval.
- Rotation: the serving certificate is renewed at 2/3 of its lifetime, the CA at 2/3 of its own
  (years before it ends). A new CA is put in the bundle *beside* the old one, which stays
  trusted until it expires, so serving certificates signed by either verify while replicas and
  the API server catch up.
- Pick-up: each replica re-reads the Secret every ``refresh_interval`` and loads a changed
  certificate into the live TLS context (:class:`serving_tls.ServingTLS`), without a restart.

The Secret and the webhook configurations are reached through the :class:`CertStore` Protocol,
implemented with ``hpa.kube`` and faked in memory in tests; time through :class:`Clock`.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Final, Protocol

import anyio
import anyio.abc
import msgspec
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hpa.certs import _certificates as certificates
from hpa.certs import _serving_tls as serving_tls

log = structlog.get_logger(__name__)

CA_BUNDLE: Final = "ca.crt"
CA_KEY: Final = "ca.key"
TLS_CERT: Final = "tls.crt"
TLS_KEY: Final = "tls.key"

RENEW_FRACTION: Final = 2 / 3
DEFAULT_CA_LIFETIME: Final = dt.timedelta(days=5 * 365)
DEFAULT_SERVING_LIFETIME: Final = dt.timedelta(days=90)

#: Attempts at one save before giving up until the next refresh (each loss means another
#: replica wrote in between, so a few attempts always converge).
_SAVE_ATTEMPTS: Final = 5


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """The Secret's data and the resourceVersion it was read at."""

    data: Mapping[str, bytes]
    resource_version: str


class CertStore(Protocol):
    """Where the certificates live (a Secret), and where the CA is published."""

    async def load(self) -> Stored | None:
        """The stored data, or None if the Secret does not exist.

        Raises:
            Exception: the store cannot be read; the provisioner retries later.
        """
        ...

    async def save(
        self, data: Mapping[str, bytes], *, resource_version: str | None
    ) -> Stored | None:
        """Create (``resource_version`` None) or replace (at that version) the stored data.

        Returns:
            What was stored, or None when another writer got there first (the Secret already
            exists, or changed since ``resource_version``).

        Raises:
            Exception: any other failure; the provisioner retries later.
        """
        ...

    async def inject_ca_bundle(self, ca_bundle: bytes) -> bool:
        """Set ``caBundle`` of hpa's webhook configurations to ``ca_bundle`` (PEM) where it
        differs; returns whether anything was written.

        Raises:
            Exception: the configurations cannot be updated; the provisioner retries later.
        """
        ...


class Clock(Protocol):
    """Wall-clock time and waiting, replaced by a fake clock in tests."""

    def now(self) -> dt.datetime:
        """The current time, UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class ServingNames(msgspec.Struct, frozen=True, kw_only=True):
    """The names the serving certificate must hold."""

    service: str
    namespace: str
    extra_dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()

    @property
    def dns_names(self) -> tuple[str, ...]:
        """``<service>.<namespace>.svc`` (what the API server dials), the cluster-local form,
        then the extra names."""
        base = f"{self.service}.{self.namespace}.svc"
        return (base, f"{base}.cluster.local", *self.extra_dns_names)


class CertProvisioner:
    """Keeps a valid CA and serving certificate in the store, the CA in the webhook
    configurations, and the serving certificate in the TLS context."""

    def __init__(
        self,
        *,
        store: CertStore,
        names: ServingNames,
        tls: serving_tls.ServingTLS,
        clock: Clock | None = None,
        ca_lifetime: dt.timedelta = DEFAULT_CA_LIFETIME,
        serving_lifetime: dt.timedelta = DEFAULT_SERVING_LIFETIME,
        refresh_interval: float = 60.0,
    ) -> None:
        """Args:
        store: the Secret and the webhook configurations.
        names: the names the serving certificate must cover.
        tls: the context the admission server serves with.
        clock: the clock (the system clock by default).
        ca_lifetime: how long a new CA is valid.
        serving_lifetime: how long a new serving certificate is valid.
        refresh_interval: how often (seconds) the store is read again for another replica's
            renewal.
        """
        self._store = store
        self._names = names
        self._tls = tls
        self._clock = clock or SystemClock()
        self._ca_lifetime = ca_lifetime
        self._serving_lifetime = serving_lifetime
        self._refresh_interval = refresh_interval
        self._injected = b""
        self._lock = anyio.Lock()

    async def ensure(self) -> certificates.KeyPair:
        """One pass: read, renew what is due (saving it), publish the CA, serve the result.

        Returns:
            The serving certificate now in use.

        Raises:
            Exception: the store failed, or another writer kept winning; nothing was changed
                locally, the caller retries.
        """
        async with self._lock:
            data = await self._stored_or_renewed()
            bundle = data[CA_BUNDLE]
            # Every pass, not only when the bundle changes: whatever wiped it (a GitOps tool
            # applying the manifests again) is undone within one refresh interval.
            if await self._store.inject_ca_bundle(bundle):
                log.info(
                    "ca bundle injected",
                    cas=len(x509.load_pem_x509_certificates(bundle)),
                    restored=bundle == self._injected,
                )
            self._injected = bundle
            pair = certificates.KeyPair(cert_pem=data[TLS_CERT], key_pem=data[TLS_KEY])
            self._tls.load(pair)
            return pair

    async def _stored_or_renewed(self) -> Mapping[str, bytes]:
        for _ in range(_SAVE_ATTEMPTS):
            stored = await self._store.load()
            data = stored.data if stored is not None else {}
            renewed = self._renewed(data)
            if renewed is None:
                return data
            version = stored.resource_version if stored is not None else None
            saved = await self._store.save(renewed, resource_version=version)
            if saved is not None:
                return saved.data
            log.info("certificate store changed by another replica, reading it again")
        raise RuntimeError("certificate store kept changing; giving up until the next refresh")

    def _renewed(self, data: Mapping[str, bytes]) -> dict[str, bytes] | None:
        """The data to store instead of ``data``, or None if ``data`` needs no change."""
        now = self._clock.now()
        ca, trusted = _read_ca(data, now=now)
        if ca is None or now >= certificates.renew_at(ca.certificate, fraction=RENEW_FRACTION):
            log.info("creating certificate authority", replaced=ca is not None)
            ca = certificates.new_ca(now=now, lifetime=self._ca_lifetime)
        elif self._serving_ok(data, ca=ca, now=now):
            fresh_bundle = _bundle(ca, trusted)
            return (
                None if fresh_bundle == data.get(CA_BUNDLE) else {**data, CA_BUNDLE: fresh_bundle}
            )
        log.info("creating serving certificate", dns_names=list(self._names.dns_names))
        serving = certificates.new_serving(
            ca=ca,
            dns_names=self._names.dns_names,
            ip_addresses=self._names.ip_addresses,
            now=now,
            lifetime=self._serving_lifetime,
        )
        return {
            CA_BUNDLE: _bundle(ca, trusted),
            CA_KEY: ca.key_pem,
            TLS_CERT: serving.cert_pem,
            TLS_KEY: serving.key_pem,
        }

    def _serving_ok(
        self, data: Mapping[str, bytes], *, ca: certificates.KeyPair, now: dt.datetime
    ) -> bool:
        try:
            pair = certificates.KeyPair(cert_pem=data[TLS_CERT], key_pem=data[TLS_KEY])
            cert = pair.certificate
            return (
                certificates.matches_key(pair)
                and certificates.signed_by(cert, ca.certificate)
                and certificates.covers(
                    cert, dns_names=self._names.dns_names, ip_addresses=self._names.ip_addresses
                )
                and now < certificates.renew_at(cert, fraction=RENEW_FRACTION)
            )
        except (KeyError, ValueError, TypeError):
            return False

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Provision, report started once a certificate is served, then keep it fresh."""
        started = False
        failures = 0
        while True:
            try:
                await self.ensure()
            except Exception as exc:
                failures += 1
                log.warning("certificate provisioning failed", error=repr(exc), failures=failures)
                await self._clock.sleep(min(2.0**failures, self._refresh_interval))
                continue
            failures = 0
            if not started:
                task_status.started()
                started = True
            await self._clock.sleep(self._refresh_interval)


def _read_ca(
    data: Mapping[str, bytes], *, now: dt.datetime
) -> tuple[certificates.KeyPair | None, list[x509.Certificate]]:
    """The current CA (first of the bundle, with its key) and the still-valid CAs of the bundle."""
    try:
        bundle = x509.load_pem_x509_certificates(data[CA_BUNDLE])
        ca_pem = bundle[0].public_bytes(serialization.Encoding.PEM)
        ca = certificates.KeyPair(cert_pem=ca_pem, key_pem=data[CA_KEY])
        if not certificates.matches_key(ca) or now >= bundle[0].not_valid_after_utc:
            return None, [c for c in bundle if now < c.not_valid_after_utc]
    except (KeyError, ValueError, IndexError, TypeError):
        return None, []
    return ca, [c for c in bundle if now < c.not_valid_after_utc]


def _bundle(ca: certificates.KeyPair, trusted: list[x509.Certificate]) -> bytes:
    """The trust bundle: ``ca`` first, then the other still-valid CAs (old ones, mid-rotation)."""
    current = ca.certificate
    others = [c for c in trusted if c != current]
    return ca.cert_pem + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in others)
