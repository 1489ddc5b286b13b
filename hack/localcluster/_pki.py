"""The cluster's key material: a CA, the API server's serving certificate, the service-account
signing key and the admin token, written into the state directory."""

import dataclasses
import datetime
import ipaddress
import pathlib
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_VALIDITY = datetime.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class Pki:
    """Paths of what the control plane is started with."""

    ca_cert: pathlib.Path
    serving_cert: pathlib.Path
    serving_key: pathlib.Path
    service_account_key: pathlib.Path
    service_account_public_key: pathlib.Path
    token_file: pathlib.Path
    admin_token: str


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer, hashes.SHA256())


def write_private(path: pathlib.Path, data: str | bytes) -> pathlib.Path:
    """Write a file only its owner may read."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def write(directory: pathlib.Path) -> Pki:
    """Generate everything into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)

    def put(name: str, data: bytes) -> pathlib.Path:
        return write_private(directory / name, data)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("hpa-cluster-ca", ca_key)
    serving_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes.default.svc"),
    ]
    serving = _certificate("kube-apiserver", serving_key, issuer=(ca, ca_key), sans=sans)
    # kube-apiserver signs service-account tokens with RS256 unless told otherwise.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    admin_token = secrets.token_hex(24)
    return Pki(
        ca_cert=put("ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        serving_cert=put("apiserver.crt", serving.public_bytes(serialization.Encoding.PEM)),
        serving_key=put("apiserver.key", _pem_key(serving_key)),
        service_account_key=put("sa.key", _pem_key(sa_key)),
        service_account_public_key=put("sa.pub", sa_public),
        token_file=put("tokens.csv", f'{admin_token},admin,admin,"system:masters"\n'.encode()),
        admin_token=admin_token,
    )
