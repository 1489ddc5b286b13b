"""Certificates for the admission server: a private CA and the serving certificate it signs.

Keys are ECDSA P-256: as strong as RSA-3072 for TLS, generated in about a millisecond (RSA
takes ~100 ms), and accepted by every kube-apiserver. Certificates are backdated a few minutes
so that a node whose clock runs slightly behind still accepts a certificate made a moment ago.
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import Final

import msgspec
from cryptography import exceptions, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: How far back ``notBefore`` is set, for clocks that run behind.
BACKDATE: Final = dt.timedelta(minutes=5)


class KeyPair(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The (first) certificate, parsed."""
        return x509.load_pem_x509_certificates(self.cert_pem)[0]


def _key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key, pem


def new_ca(
    *, now: dt.datetime, lifetime: dt.timedelta, common_name: str = "hpa-webhook-ca"
) -> KeyPair:
    """A self-signed CA that may sign serving certificates only (path length 0)."""
    key, key_pem = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem)


def new_serving(
    *,
    ca: KeyPair,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> KeyPair:
    """A serving certificate for the given names, signed by ``ca``, ending no later than it."""
    ca_cert = ca.certificate
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key, key_pem = _key()
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem)


def renew_at(cert: x509.Certificate, *, fraction: float) -> dt.datetime:
    """When ``cert`` should be replaced: after ``fraction`` of its lifetime."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return start + (end - start) * fraction


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` issued ``cert`` (checks the signature, not only the names)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, exceptions.InvalidSignature):
        return False
    return True


def covers(
    cert: x509.Certificate, *, dns_names: Sequence[str], ip_addresses: Sequence[str]
) -> bool:
    """Whether ``cert``'s subject alternative names include every name and address given."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = set(sans.get_values_for_type(x509.DNSName))
    have_ips = set(sans.get_values_for_type(x509.IPAddress))
    want_ips = {ipaddress.ip_address(ip) for ip in ip_addresses}
    return set(dns_names) <= have_dns and want_ips <= have_ips


def matches_key(pair: KeyPair) -> bool:
    """Whether the private key belongs to the certificate."""
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return key.public_key().public_bytes(der, spki) == pair.certificate.public_key().public_bytes(
        der, spki
    )
