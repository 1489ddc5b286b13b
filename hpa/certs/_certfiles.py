"""Serving certificates from files mounted by someone else (cert-manager's Secret volume).

For the cert-manager overlay hpa does not provision anything: the kubelet keeps ``tls.crt`` and
``tls.key`` of the mounted Secret current (it swaps a symlink, so both files change at once)
and cert-manager's CA injector fills ``caBundle``. :class:`CertDirectory` polls the files and
loads a changed pair into the live TLS context. A half-written or mismatched pair (a swap seen
midway) is logged and skipped; the previous certificate keeps serving until the next poll.
"""

import pathlib
import ssl

import anyio
import anyio.abc
import structlog

from hpa.certs import _certificates as certificates
from hpa.certs import _serving_tls as serving_tls

log = structlog.get_logger(__name__)


class CertDirectory:
    """Watches a directory holding ``tls.crt`` and ``tls.key``."""

    def __init__(
        self,
        *,
        directory: pathlib.Path,
        tls: serving_tls.ServingTLS,
        poll_interval: float = 10.0,
        cert_file: str = "tls.crt",
        key_file: str = "tls.key",
    ) -> None:
        """Args:
        directory: where the files are mounted.
        tls: the context the admission server serves with.
        poll_interval: seconds between checks for changed files.
        cert_file: the certificate (chain) file's name.
        key_file: the private key file's name.
        """
        self._cert = directory / cert_file
        self._key = directory / key_file
        self._tls = tls
        self._poll_interval = poll_interval

    def check(self) -> bool:
        """Load the files if they changed; returns whether the served certificate changed."""
        try:
            pair = certificates.KeyPair(
                cert_pem=self._cert.read_bytes(), key_pem=self._key.read_bytes()
            )
            return self._tls.load(pair)
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.warning("certificate files not loadable", path=str(self._cert), error=repr(exc))
            return False

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Wait for loadable files, report started, then reload them whenever they change."""
        while not self._tls.ready():
            self.check()
            if not self._tls.ready():
                await anyio.sleep(self._poll_interval)
        task_status.started()
        while True:
            await anyio.sleep(self._poll_interval)
            self.check()
