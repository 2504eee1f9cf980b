"""The lab's certificate authority and the server certificate it signs (`ensure`).

Why a CA of the kit's own, not a self-signed server certificate: learners trust one file, once
(`ca.crt`), and the lab may remake its server certificate (new host names for a room, near
expiry) without anyone trusting anything again. Both are made on a lab's first TLS start and
reused across restarts; the server certificate is remade when the names it must carry change,
when it is near its end, or when it is not the current CA's. Keys are EC P-256 (quick to make;
every client here speaks it), in PKCS#8 (what granian reads), owner-only on disk.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .layout import TlsFiles

log = logging.getLogger("labkit.lab")

CA_DAYS = 3650  # the CA learners trust: ten years, so a room's trust outlives the course
SERVER_DAYS = 365  # the server certificate: remade without anyone trusting anything again
RENEW_BEFORE = datetime.timedelta(days=30)  # remade when it has less left than this


@dataclass(frozen=True)
class Issued:
    """What the lab serves with (`certificate`, `key`: FrontDoor's certificate=) and what clients
    trust (`ca`)."""

    ca: Path
    certificate: Path
    key: Path
    names: tuple[str, ...] = ()  # the host names and addresses the certificate carries

    @property
    def pair(self) -> tuple[Path, Path]:
        return self.certificate, self.key


def ensure(home: Path, names: Sequence[str], now: datetime.datetime | None = None) -> Issued:
    """The CA and a server certificate for `names` (host names and IP addresses) in `home`,
    made or remade only when needed (see the module doc)."""
    now = now or datetime.datetime.now(datetime.UTC)
    files = TlsFiles(home)
    _private_folder(files)
    ca = _load(files.ca_cert, files.ca_key)
    if ca is None or _ends_soon(ca[0], now):
        log.info("TLS: making a new certificate authority in %s", files.folder)
        ca = _make_ca(now)
        _write(files.ca_key, _key_bytes(ca[1]), private=True)
        _write(files.ca_cert, ca[0].public_bytes(serialization.Encoding.PEM))
    ca_cert, ca_key = ca
    server = _load(files.server_cert, files.server_key)
    why = "none yet" if server is None else _stale(server[0], ca_cert, names, now)
    if why:
        log.info("TLS: making the server certificate for %s (%s)", ", ".join(names), why)
        cert, key = _make_server(ca_cert, ca_key, names, now)
        _write(files.server_key, _key_bytes(key), private=True)
        _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    return Issued(files.ca_cert, files.server_cert, files.server_key, tuple(names))


def names_of(cert: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses a certificate's SubjectAltName carries."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*san.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))}


# ---- why a server certificate must be remade ----

def _stale(cert: x509.Certificate, ca: x509.Certificate, names: Sequence[str],
           now: datetime.datetime) -> str:
    """Why `cert` cannot serve any more ("" if it can)."""
    if names_of(cert) != set(names):
        return "the host names changed"
    if _ends_soon(cert, now):
        return f"it ends on {cert.not_valid_after_utc:%Y-%m-%d}"
    if cert.issuer != ca.subject or not _signed_by(cert, ca):
        return "the certificate authority changed"
    return ""


def _ends_soon(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return cert.not_valid_after_utc - now < RENEW_BEFORE or cert.not_valid_before_utc > now


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# ---- making them ----

def _make_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA that may sign server certificates only (path length 0). Its name carries a random
    part: two labs' CAs never share a subject, which clients use to find an issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ECR Lab Kit"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"labkit lab CA {secrets.token_hex(4)}")])
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_server(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: Sequence[str],
                 now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for `names`, in the SubjectAltName (clients ignore the CN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS),
                                 ca.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


# ---- files ----

def _private_folder(files: TlsFiles) -> None:
    """HOME/tls (readable: the CA's certificate) and HOME/tls/private (owner only), whatever
    modes they had."""
    files.folder.mkdir(parents=True, exist_ok=True)
    files.private.mkdir(mode=0o700, exist_ok=True)
    os.chmod(files.private, 0o700)


def _load(cert_path: Path, key_path: Path
          ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """A certificate (the first of its file) and its key, or None if either is missing,
    unreadable, or they do not belong together."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or \
            key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        return None
    return cert, key


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Write whole or not at all (a temp file renamed into place); a key is 0600 from its
    first byte, never readable by others even for a moment."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)  # whatever the umask took away or left
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
