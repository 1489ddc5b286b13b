"""The admission server's certificates: hpa's own CA and serving certificate, kept in a Secret
shared by every replica and rotated before they expire, or files that cert-manager keeps.

:class:`CertProvisioner` creates, shares (through a :class:`CertStore`, the Secret of
:class:`SecretCertStore`) and rotates them, and writes the CA into the webhook configurations;
:class:`CertDirectory` follows a mounted directory instead. Either loads the certificate into
:class:`ServingTLS`, the live TLS context the admission server serves with.
"""

from hpa.certs._certfiles import CertDirectory
from hpa.certs._certificates import KeyPair, new_ca, new_serving
from hpa.certs._provisioning import (
    CA_BUNDLE,
    CA_KEY,
    TLS_CERT,
    TLS_KEY,
    CertProvisioner,
    CertStore,
    Clock,
    ServingNames,
    Stored,
    SystemClock,
)
from hpa.certs._secretstore import SecretCertStore
from hpa.certs._serving_tls import ServingTLS

__all__ = [
    "CA_BUNDLE",
    "CA_KEY",
    "TLS_CERT",
    "TLS_KEY",
    "CertDirectory",
    "CertProvisioner",
    "CertStore",
    "Clock",
    "KeyPair",
    "SecretCertStore",
    "ServingNames",
    "ServingTLS",
    "Stored",
    "SystemClock",
    "new_ca",
    "new_serving",
]
