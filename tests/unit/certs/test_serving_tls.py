"""ServingTLS loads a certificate without a writable directory, and leaks no descriptor."""

import datetime as dt
import os
import pathlib
import ssl
import sys
import tempfile

import pytest

from hpa import certs

NOW = dt.datetime.now(dt.UTC)


def _pair() -> certs.KeyPair:
    ca = certs.new_ca(now=NOW, lifetime=dt.timedelta(days=1))
    return certs.new_serving(
        ca=ca, dns_names=["hpa-webhook.hpa.svc"], now=NOW, lifetime=dt.timedelta(hours=1)
    )


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_temporary_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    """``tempfile`` finds no usable directory, as under a read-only root filesystem."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd is Linux only")
@pytest.mark.usefixtures("no_temporary_directory")
def test_loads_without_a_writable_directory() -> None:
    """A certificate loads from memory when no temporary directory is usable."""
    tls = certs.ServingTLS()
    before = _open_fds()
    pair = _pair()
    assert tls.load(pair)
    assert tls.serial == pair.certificate.serial_number
    assert _open_fds() == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd is Linux only")
@pytest.mark.usefixtures("no_temporary_directory")
def test_mismatched_key_is_refused_without_leaking() -> None:
    """A key that does not match its certificate is refused, and the old one keeps serving."""
    tls = certs.ServingTLS()
    first, other = _pair(), _pair()
    tls.load(first)
    before = _open_fds()
    with pytest.raises(ssl.SSLError):
        tls.load(certs.KeyPair(cert_pem=other.cert_pem, key_pem=first.key_pem))
    assert tls.serial == first.certificate.serial_number
    assert _open_fds() == before


def test_falls_back_to_a_temporary_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without memfd the certificate goes through a private temporary directory."""
    monkeypatch.delattr(os, "memfd_create", raising=False)
    tls = certs.ServingTLS()
    pair = _pair()
    assert tls.load(pair)
    assert tls.serial == pair.certificate.serial_number
