"""Certificate provisioning, rotation and pick-up, with an in-memory store and a fake clock."""

import datetime as dt
import pathlib
import ssl
from collections.abc import Mapping

import anyio
import anyio.streams.tls
import pytest
from cryptography import x509

from hpa import api, certs, webhook
from tests.unit.webhook import support

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
NAMES = certs.ServingNames(service="hpa-webhook", namespace="hpa", ip_addresses=("127.0.0.1",))


class MemoryStore:
    """A CertStore in memory, with resourceVersions and an optional stale read."""

    def __init__(self) -> None:
        self.stored: certs.Stored | None = None
        self.version = 0
        self.saves = 0
        self.injected: list[bytes] = []
        #: Whether the configurations lost their caBundle (as a GitOps re-apply does).
        self.wiped = False
        self.stale_loads = 0
        self._stale: certs.Stored | None = None

    async def load(self) -> certs.Stored | None:
        if self.stale_loads:
            self.stale_loads -= 1
            return self._stale
        return self.stored

    async def save(
        self, data: Mapping[str, bytes], *, resource_version: str | None
    ) -> certs.Stored | None:
        current = self.stored.resource_version if self.stored is not None else None
        if resource_version != current:
            return None  # AlreadyExists, or Conflict
        self.version += 1
        self.saves += 1
        self._stale = self.stored
        self.stored = certs.Stored(data=dict(data), resource_version=str(self.version))
        return self.stored

    async def inject_ca_bundle(self, ca_bundle: bytes) -> bool:
        """Like the Secret store: write only where the configurations' bundle differs."""
        if self.injected and self.injected[-1] == ca_bundle and not self.wiped:
            return False
        self.injected.append(ca_bundle)
        self.wiped = False
        return True


class FakeClock:
    """A settable clock; ``sleep`` parks the sleeper until the test advances time."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.time = start
        self._wake = anyio.Event()
        self._asleep = anyio.Event()

    def now(self) -> dt.datetime:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self._asleep.set()
        await self._wake.wait()

    async def advance(self, delta: dt.timedelta) -> None:
        """Move time on, wake the sleeper and wait until it sleeps again."""
        await self._asleep.wait()
        self._asleep = anyio.Event()
        self.time += delta
        wake, self._wake = self._wake, anyio.Event()
        wake.set()
        await self._asleep.wait()


def provisioner(
    store: MemoryStore, clock: FakeClock, names: certs.ServingNames = NAMES
) -> certs.CertProvisioner:
    return certs.CertProvisioner(
        store=store,
        names=names,
        tls=certs.ServingTLS(),
        clock=clock,
        ca_lifetime=dt.timedelta(days=900),
        serving_lifetime=dt.timedelta(days=90),
    )


def bundle_of(store: MemoryStore) -> list[x509.Certificate]:
    assert store.stored is not None
    return x509.load_pem_x509_certificates(store.stored.data[certs.CA_BUNDLE])


async def served_serial(port: int, ca_bundle: bytes) -> int:
    """The serial of the certificate a TLS handshake with 127.0.0.1:port presents, verified."""
    context = ssl.create_default_context(cadata=ca_bundle.decode())
    async with await anyio.connect_tcp("127.0.0.1", port, ssl_context=context) as stream:
        der = stream.extra(anyio.streams.tls.TLSAttribute.peer_certificate_binary)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_first_start_creates_ca_and_serving_certificate() -> None:
    """A missing Secret is created with a CA and a serving cert for the service names."""
    store, clock = MemoryStore(), FakeClock()
    pair = await provisioner(store, clock).ensure()
    cert = pair.certificate
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "hpa-webhook.hpa.svc",
        "hpa-webhook.hpa.svc.cluster.local",
    ]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    [ca] = bundle_of(store)
    cert.verify_directly_issued_by(ca)
    assert store.injected == [store.stored.data[certs.CA_BUNDLE]]  # type: ignore[union-attr]


async def test_nothing_changes_while_certificates_are_fresh() -> None:
    """A second pass before renewal time writes nothing and injects nothing."""
    store, clock = MemoryStore(), FakeClock()
    p = provisioner(store, clock)
    first = await p.ensure()
    clock.time += dt.timedelta(days=59)
    assert await p.ensure() == first
    assert (store.saves, len(store.injected)) == (1, 1)


async def test_a_wiped_ca_bundle_is_restored_on_the_next_pass() -> None:
    """A caBundle someone removed from the configurations (a GitOps tool applying the
    manifests again) is written back on the next pass, though nothing was renewed."""
    store, clock = MemoryStore(), FakeClock()
    p = provisioner(store, clock)
    await p.ensure()
    store.wiped = True
    await p.ensure()
    assert store.saves == 1 and len(store.injected) == 2
    assert store.injected[0] == store.injected[1]


async def test_replicas_racing_on_an_empty_store_agree() -> None:
    """A replica that loses the create race serves the winner's certificate."""
    store, clock = MemoryStore(), FakeClock()
    winner = await provisioner(store, clock).ensure()
    store.stale_loads = 1  # the loser read before the winner wrote: it sees no Secret
    loser = await provisioner(store, clock).ensure()
    assert loser == winner
    assert store.saves == 1


async def test_serving_certificate_rotates_and_running_server_picks_it_up(
    cluster: support.FakeCluster,
) -> None:
    """At 2/3 of its lifetime the serving cert is renewed and served without a restart."""
    # Real time matters here: the client verifies validity against the system clock.
    now = dt.datetime.now(dt.UTC)
    store, clock = MemoryStore(), FakeClock(start=now - dt.timedelta(hours=2))
    tls = certs.ServingTLS()
    p = certs.CertProvisioner(
        store=store, names=NAMES, tls=tls, clock=clock, serving_lifetime=dt.timedelta(hours=3)
    )
    first = await p.ensure()
    server = webhook.AdmissionServer(
        handlers={api.PATH_VALIDATE_PODS: webhook.PodValidator(claims=cluster, namespaces=cluster)},
        ssl_context=tls.context,
        host="127.0.0.1",
        port=0,
    )
    async with anyio.create_task_group() as tg:
        port = await tg.start(server.run)
        bundle = store.stored.data[certs.CA_BUNDLE]  # type: ignore[union-attr]
        assert await served_serial(port, bundle) == first.certificate.serial_number
        clock.time = now  # 2/3 of 3 hours have passed
        second = await p.ensure()
        assert second.certificate.serial_number != first.certificate.serial_number
        assert await served_serial(port, bundle) == second.certificate.serial_number
        tg.cancel_scope.cancel()


async def test_ca_rotation_keeps_old_ca_trusted() -> None:
    """A renewed CA is added beside the old one, which stays in caBundle until it expires."""
    store, clock = MemoryStore(), FakeClock()
    p = provisioner(store, clock)
    await p.ensure()
    [old_ca] = bundle_of(store)
    clock.time += dt.timedelta(days=601)  # past 2/3 of 900 days
    pair = await p.ensure()
    new_ca, kept = bundle_of(store)
    assert kept == old_ca
    pair.certificate.verify_directly_issued_by(new_ca)
    assert len(store.injected) == 2
    clock.time += dt.timedelta(days=300)  # the old CA has expired
    await p.ensure()
    assert bundle_of(store) == [new_ca]


async def test_new_name_reissues_serving_certificate() -> None:
    """Adding a name to the configuration issues a serving cert that covers it."""
    store, clock = MemoryStore(), FakeClock()
    first = await provisioner(store, clock).ensure()
    more = certs.ServingNames(
        service="hpa-webhook",
        namespace="hpa",
        extra_dns_names=("localhost",),
        ip_addresses=("127.0.0.1", "::1"),
    )
    second = await provisioner(store, clock, more).ensure()
    assert second != first
    sans = second.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert "localhost" in sans.value.get_values_for_type(x509.DNSName)


async def test_run_picks_up_another_replicas_rotation() -> None:
    """A running provisioner re-reads the store each refresh and serves what another wrote."""
    store, clock = MemoryStore(), FakeClock()
    follower = provisioner(store, clock)
    async with anyio.create_task_group() as tg:
        await tg.start(follower.run)
        before = follower._tls.serial
        leader = provisioner(store, FakeClock())
        leader._clock.time = START + dt.timedelta(days=61)  # type: ignore[attr-defined]
        await leader.ensure()
        await clock.advance(dt.timedelta(seconds=60))
        assert follower._tls.serial == leader._tls.serial != before
        tg.cancel_scope.cancel()


def test_certificate_directory_reloads_changed_files(tmp_path: pathlib.Path) -> None:
    """Mounted files are loaded, reloaded on change, and a broken pair keeps the old cert."""
    now = dt.datetime.now(dt.UTC)
    ca = certs.new_ca(now=now, lifetime=dt.timedelta(days=1))
    tls = certs.ServingTLS()
    directory = certs.CertDirectory(directory=tmp_path, tls=tls)
    assert not directory.check()  # nothing mounted yet
    serials = []
    for _ in range(2):
        pair = certs.new_serving(ca=ca, dns_names=["x"], now=now, lifetime=dt.timedelta(hours=1))
        (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
        (tmp_path / "tls.key").write_bytes(pair.key_pem)
        assert directory.check()
        serials.append(tls.serial)
    assert not directory.check()  # unchanged
    (tmp_path / "tls.key").write_bytes(b"garbage")
    assert not directory.check()
    assert tls.serial == serials[1] != serials[0]


@pytest.mark.parametrize(
    "key",
    [pytest.param(certs.TLS_CERT, id="cert"), pytest.param(certs.CA_KEY, id="ca-key")],
)
async def test_corrupt_secret_is_repaired(key: str) -> None:
    """Unreadable data in the Secret is replaced rather than served."""
    store, clock = MemoryStore(), FakeClock()
    await provisioner(store, clock).ensure()
    assert store.stored is not None
    store.stored = certs.Stored(
        data={**store.stored.data, key: b"junk"}, resource_version=store.stored.resource_version
    )
    pair = await provisioner(store, clock).ensure()
    assert pair.cert_pem != b"junk"
    assert store.saves == 2


class FailingStore(MemoryStore):
    """A store whose first reads fail, like an API server that is not reachable yet."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def load(self) -> certs.Stored | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("API server unreachable")
        return await super().load()


async def test_run_retries_until_the_store_answers() -> None:
    """Provisioning retries after store failures and reports started only once it serves."""
    store, clock = FailingStore(failures=2), FakeClock()
    p = provisioner(store, clock)
    started = anyio.Event()

    async def run() -> None:
        await p.run(task_status=Started(started))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await clock.advance(dt.timedelta(seconds=2))  # first retry: fails again
        assert not started.is_set()
        await clock.advance(dt.timedelta(seconds=4))  # second retry: provisions
        assert started.is_set()
        assert p._tls.ready()
        tg.cancel_scope.cancel()


class Started:
    """A task status that sets an event."""

    def __init__(self, event: anyio.Event) -> None:
        self._event = event

    def started(self, value: None = None) -> None:
        self._event.set()
