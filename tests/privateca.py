"""A throwaway private certificate authority and a loopback server certificate it signed.

Made with the openssl command (the `cryptography` package is not a dependency): a CA that
no system trusts, so a client trusts the server only when told to trust this CA.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PrivateCA:
    authority: Path        # the CA's certificate: what smtp.ca_file / imap.ca_file point at
    certificate: Path      # the server's certificate, signed by the CA, for localhost
    key: Path              # the server's private key


def make_private_ca(folder: Path, host: str = "127.0.0.1") -> PrivateCA:
    """A CA and a certificate for localhost and `host` signed by it, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Throwaway test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr")
    (folder / "server.ext").write_text(
        f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:{host}\n", encoding="utf-8")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    return PrivateCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
