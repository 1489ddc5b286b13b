"""The admission server's TLS context, whose certificate can be replaced while it serves.

``ssl.SSLContext.load_cert_chain`` on a live context changes the chain used by every handshake
that starts afterwards; connections already open keep theirs. So a renewed certificate takes
effect without restarting the server or dropping a connection. ``load_cert_chain`` reads files
only, hence the short-lived private temporary directory.
"""

import hashlib
import pathlib
import ssl
import tempfile

import structlog

from hpa.webhook import _certificates as certificates

log = structlog.get_logger(__name__)


class ServingTLS:
    """The server-side TLS context and the certificate it holds."""

    def __init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._digest = b""
        self._serial: int | None = None

    @property
    def serial(self) -> int | None:
        """The serial number of the certificate in use, or None before the first load."""
        return self._serial

    def ready(self) -> bool:
        """Whether a certificate is loaded (a readiness check)."""
        return self._serial is not None

    def load(self, pair: certificates.KeyPair) -> bool:
        """Serve ``pair`` from the next handshake on; returns whether anything changed.

        Raises:
            ssl.SSLError: the key does not match the certificate, or either is not valid PEM.
        """
        digest = hashlib.sha256(pair.cert_pem + b"\0" + pair.key_pem).digest()
        if digest == self._digest:
            return False
        with tempfile.TemporaryDirectory(prefix="hpa-tls-") as directory:
            cert_file = pathlib.Path(directory, "tls.crt")
            key_file = pathlib.Path(directory, "tls.key")
            cert_file.write_bytes(pair.cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(pair.key_pem)
            self.context.load_cert_chain(cert_file, key_file)
        self._digest = digest
        self._serial = pair.certificate.serial_number
        log.info(
            "serving certificate loaded",
            serial=f"{self._serial:x}",
            not_after=pair.certificate.not_valid_after_utc.isoformat(),
        )
        return True
