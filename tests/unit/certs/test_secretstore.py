"""The Secret-backed certificate store, against the in-memory API server of tests/kubefake.py."""

import base64
import datetime as dt

from cryptography import x509

from hpa import api, certs, kube, manifests
from tests import kubefake

NAMES = certs.ServingNames(service="hpa-webhook", namespace="hpa")


def provisioner(fake: kubefake.FakeApi) -> certs.CertProvisioner:
    store = certs.SecretCertStore(client=kube.Client(fake), namespace="hpa")
    return certs.CertProvisioner(store=store, names=NAMES, tls=certs.ServingTLS())


def install_configurations(fake: kubefake.FakeApi) -> None:
    mutating, validating = manifests.webhook_configurations()
    fake.put("mutatingwebhookconfigurations", mutating)
    fake.put("validatingwebhookconfigurations", validating)


async def test_certificates_stored_in_a_tls_secret_and_ca_injected() -> None:
    """The first replica creates a kubernetes.io/tls Secret and fills every caBundle."""
    fake = kubefake.FakeApi()
    install_configurations(fake)
    pair = await provisioner(fake).ensure()
    secret = fake.get("secrets", api.WEBHOOK_SECRET, "hpa")
    assert secret is not None
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == pair.cert_pem
    bundle = base64.b64decode(secret["data"]["ca.crt"])
    for plural, name in (
        ("mutatingwebhookconfigurations", api.MUTATING_CONFIGURATION),
        ("validatingwebhookconfigurations", api.VALIDATING_CONFIGURATION),
    ):
        configuration = fake.get(plural, name)
        assert configuration is not None
        for hook in configuration["webhooks"]:
            assert base64.b64decode(hook["clientConfig"]["caBundle"]) == bundle


async def test_second_replica_serves_the_stored_certificate() -> None:
    """A replica starting later serves the Secret's certificate and writes nothing."""
    fake = kubefake.FakeApi()
    install_configurations(fake)
    first = await provisioner(fake).ensure()
    writes = fake.total_writes("secrets")
    assert await provisioner(fake).ensure() == first
    assert fake.total_writes("secrets") == writes


async def test_lost_create_race_reads_the_winner() -> None:
    """AlreadyExists on create (another replica won) makes the store answer None."""
    fake = kubefake.FakeApi()
    store = certs.SecretCertStore(client=kube.Client(fake), namespace="hpa")
    fake.put("secrets", {"metadata": {"name": api.WEBHOOK_SECRET, "namespace": "hpa"}})
    assert await store.save({"tls.crt": b"x"}, resource_version=None) is None


async def test_stale_replace_is_refused() -> None:
    """A replace at an old resourceVersion (Conflict) makes the store answer None."""
    fake = kubefake.FakeApi()
    store = certs.SecretCertStore(client=kube.Client(fake), namespace="hpa")
    saved = await store.save({"tls.crt": b"x"}, resource_version=None)
    assert saved is not None
    assert await store.save({"tls.crt": b"y"}, resource_version=saved.resource_version)
    assert await store.save({"tls.crt": b"z"}, resource_version=saved.resource_version) is None


async def test_missing_configurations_are_skipped() -> None:
    """Without webhook configurations (e.g. not installed yet) provisioning still serves."""
    fake = kubefake.FakeApi()
    pair = await provisioner(fake).ensure()
    assert pair.certificate.not_valid_after_utc > dt.datetime.now(dt.UTC)
    assert isinstance(pair.certificate, x509.Certificate)
