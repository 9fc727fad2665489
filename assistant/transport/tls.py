"""TLS for the mail servers: a private authority per server, and why STARTTLS failed on a TLS port."""

from __future__ import annotations

import ipaddress
import socket
import ssl

from assistant.errors import ConfigError

# OpenSSL's verify codes for "no trusted authority signed this certificate" (x509_vfy.h):
# unable to get the issuer, self-signed, self-signed in the chain, issuer not found
# locally, leaf not verifiable, and a signature that the named authority did not make.
UNTRUSTED_ISSUER = frozenset({2, 7, 18, 19, 20, 21})
NAME_MISMATCH = frozenset({62, 63, 64})     # host name, e-mail address, IP address

# Ports where TLS starts with the connection (RFC 8314), and the STARTTLS port beside each.
IMPLICIT_TLS_PORTS = {465: 587, 993: 143}
PROBE_SECONDS = 3


def implicit_tls_hint(section: str, security: str, host: str, port: int) -> str:
    """A hint to append to a failed connection's reason, or "".

    Asked only after a failure: with security = "starttls" the client waits for a
    plain-text greeting that a TLS port never sends, so the failure is a bare timeout.
    A TLS handshake tried against the same port tells the two apart.
    """
    if security != "starttls":
        return ""
    if int(port) not in IMPLICIT_TLS_PORTS and not speaks_tls(host, int(port)):
        return ""
    other = IMPLICIT_TLS_PORTS.get(int(port))
    return (f' (port {port} speaks TLS from the first byte: set {section}.security = "ssl"'
            + (f", or use port {other} for starttls)" if other else ")"))


def speaks_tls(host: str, port: int, timeout: float = PROBE_SECONDS) -> bool:
    """True when host:port answers a TLS handshake (the certificate is not checked here)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return True
    except (OSError, ssl.SSLError):
        return False


def is_loopback(host: str) -> bool:
    """True when `host` names this machine by its spelling alone: localhost, 127.x.x.x, ::1.

    Asked before a password goes out in clear text (security = "none"). A name is never
    looked up: the connection looks it up again, and a DNS answer that says loopback now
    may say elsewhere then. Brackets around an IPv6 address are accepted, as in a URL.

    >>> is_loopback("[::1]"), is_loopback("LOCALHOST"), is_loopback("mail.example.com")
    (True, True, False)
    """
    name = host.strip().lower()
    if name == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)    # ::ffff:127.0.0.1 reaches 127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def certificate_refused(section: str, ca_file: str, exc: ssl.SSLCertVerificationError) -> str:
    """Why a server's certificate was refused, and what the operator can set, in one line:
    "certificate refused: unable to get local issuer certificate; set imap.ca_file to the
    authority that signed it".

    The hint names `ca_file` only when the trouble is who signed the certificate: an
    expired certificate or one made out to another name is not cured by trusting more.
    """
    reason = f"certificate refused: {exc.verify_message or exc.reason or exc}"
    if exc.verify_code in UNTRUSTED_ISSUER:
        return reason + (f"; is {ca_file} the authority that signed it?" if ca_file
                         else f"; set {section}.ca_file to the authority that signed it")
    if exc.verify_code in NAME_MISMATCH:
        return reason + f"; {section}.host must be a name the certificate is made out to"
    return reason


def trusting(section: str, ca_file: str) -> ssl.SSLContext | None:
    """A context trusting `ca_file` for this server only (never SSL_CERT_FILE for the whole
    process); None when no file is set: the system's authorities."""
    if not ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{section}.ca_file: cannot read {ca_file}: {exc.strerror or exc}") from exc
