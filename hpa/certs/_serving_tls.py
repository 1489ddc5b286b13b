"""The admission server's TLS context, whose certificate can be replaced while it serves.

``ssl.SSLContext.load_cert_chain`` on a live context changes the chain used by every handshake
that starts afterwards; connections already open keep theirs. So a renewed certificate takes
effect without restarting the server or dropping a connection.

``load_cert_chain`` reads files only: there is no API to load a PEM from memory. The shipped
Deployment runs hpa with a read-only root filesystem, no volume and no HOME, so there is no
writable directory to put the files in (``tempfile`` fails with "No usable temporary directory
found"). On Linux the PEMs are therefore written into anonymous in-memory files
(``memfd_create``, allowed by the RuntimeDefault seccomp profile) and loaded through their
``/proc/self/fd/N`` paths: nothing is written to a filesystem, so the private key never lands
on one either, and the files vanish when their descriptors are closed, right after the load
(they are close-on-exec: no child inherits them). Only where memfd or ``/proc`` is missing
(macOS, a chroot without ``/proc``) do the files go to a private temporary directory, as
before, removed as soon as they are loaded.
"""

import contextlib
import hashlib
import os
import pathlib
import ssl
import tempfile
from collections.abc import Iterator

import structlog

from hpa.certs import _certificates as certificates

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
            OSError: neither an in-memory file nor a temporary directory could hold the PEMs.
        """
        digest = hashlib.sha256(pair.cert_pem + b"\0" + pair.key_pem).digest()
        if digest == self._digest:
            return False
        with _pem_files(pair) as (cert_file, key_file):
            self.context.load_cert_chain(cert_file, key_file)
        self._digest = digest
        self._serial = pair.certificate.serial_number
        log.info(
            "serving certificate loaded",
            serial=f"{self._serial:x}",
            not_after=pair.certificate.not_valid_after_utc.isoformat(),
        )
        return True


@contextlib.contextmanager
def _pem_files(pair: certificates.KeyPair) -> Iterator[tuple[pathlib.Path, pathlib.Path]]:
    """Paths of files holding the certificate and the key, valid inside the ``with`` only."""
    with contextlib.ExitStack() as stack:
        try:
            paths = (
                stack.enter_context(_memory_file("tls.crt", pair.cert_pem)),
                stack.enter_context(_memory_file("tls.key", pair.key_pem)),
            )
        except OSError as error:
            log.debug("no in-memory files, using a temporary directory", error=repr(error))
            paths = stack.enter_context(_temporary_files(pair))
        yield paths


@contextlib.contextmanager
def _memory_file(name: str, content: bytes) -> Iterator[pathlib.Path]:
    """An anonymous in-memory file holding ``content``, by a path that ``open`` accepts.

    Raises:
        OSError: memfd is not available here (not Linux, or refused by seccomp), or ``/proc``
            is not mounted.
    """
    if not hasattr(os, "memfd_create"):
        raise OSError("os.memfd_create is not available on this platform")
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        with os.fdopen(fd, "wb", closefd=False) as file:
            file.write(content)
        path = pathlib.Path(f"/proc/self/fd/{fd}")
        # Opening the path opens the memfd anew, with its own offset (at 0), as for any file.
        # Checked here so that a missing /proc means "fall back", not a failed certificate.
        if not os.access(path, os.R_OK):
            raise FileNotFoundError(f"{path} is not readable: is /proc mounted?")
        yield path
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temporary_files(pair: certificates.KeyPair) -> Iterator[tuple[pathlib.Path, pathlib.Path]]:
    """The PEMs in a directory of their own (mode 0700), the key file readable by us only."""
    with tempfile.TemporaryDirectory(prefix="hpa-tls-") as directory:
        cert_file = pathlib.Path(directory, "tls.crt")
        key_file = pathlib.Path(directory, "tls.key")
        cert_file.write_bytes(pair.cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(pair.key_pem)
        yield cert_file, key_file
