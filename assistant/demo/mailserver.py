"""A throwaway private Dovecot on a loopback port, for the tests and the demo."""

from __future__ import annotations

import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"
DEFAULT_PASSWORD = "secret"
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(@[A-Za-z0-9.-]+)?")

_CONFIG = """\
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {ssl_port}
  }}
{login_extra}}}
{mailboxes}
# Without this listener there is no growing delay after failed logins from one address,
# which would otherwise slow every test after one that tries a wrong password.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{anvil_extra}}}
{unprivileged}"""

# Without root, Dovecot cannot chroot its login processes or switch users: every service
# runs as whoever started it (the Dovecot wiki, "Running Dovecot as non-root").
_UNPRIVILEGED = """\
service auth {
  user =
}
service auth-worker {
  user =
}
"""


def dovecot_binary() -> str | None:
    """Where `dovecot` is installed, or None; /usr/sbin is not on every user's PATH."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (another process could still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float, alive=lambda: True) -> bool:
    """True once `host:port` accepts connections; False on timeout or when `alive()` fails."""
    deadline = time.monotonic() + timeout
    while alive():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    return False


class Dovecot:
    """A private Dovecot on a loopback port, with its own directory, users and Maildirs.

    It never touches /etc/dovecot or the system instance. As root, mail belongs to the
    `mail` system user; without root, to whoever runs it.

        with Dovecot() as server:
            server.add_user("support@example.com", "secret")
            server.append("support@example.com", b"Subject: hi\\r\\n\\r\\nhello\\r\\n")
    """

    def __init__(self, root: Path | str | None = None, host: str = LOOPBACK, port: int | None = None,
                 tls: bool = False, sent_folder: str | None = None,
                 certificate: tuple[Path, Path] | None = None):
        self._own_root = root is None
        # (certificate chain, private key) signed by some authority; without it, with tls,
        # a self-signed certificate is made.
        self._given_certificate = certificate
        self.sent_folder = sent_folder      # made for every user, marked \Sent (RFC 6154)
        self.tls = tls or certificate is not None
        self.ssl_port = free_port(host) if self.tls else 0
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-") if root is None else root).resolve()
        self.host = host
        self.port = port or free_port(host)
        self._passwords: dict[str, str] = {}
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._prepare()

    def _prepare(self) -> None:
        # Every directory above the passwd file must be traversable by Dovecot's own
        # users; otherwise logins fail with only "Temporary authentication failure".
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for parent in self.root.parents:
            if not parent.stat().st_mode & 0o001:
                raise PermissionError(f"dovecot: its users cannot enter {parent}; choose another root")
        uid, gid = _mail_owner()
        for name in ("run", "state", "mail", "users"):
            (self.root / name).mkdir(exist_ok=True)
        os.chown(self.root / "mail", uid, gid)
        if self.tls and self._given_certificate:
            (self.root / "tls").mkdir(exist_ok=True)
            chain, key = self._given_certificate
            shutil.copyfile(chain, self.certificate)
            shutil.copyfile(key, self.root / "tls" / "key.pem")
        elif self.tls:
            _self_signed(self.root / "tls", self.host)
        (self.root / "dovecot.conf").write_text(self._config(uid, gid), encoding="utf-8")

    def _config(self, uid: int, gid: int) -> str:
        privileged = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        my_group = grp.getgrgid(os.getegid()).gr_name
        return _CONFIG.format(
            instance=f"assistant-{secrets.token_hex(4)}", root=self.root, host=self.host,
            port=self.port, ssl_port=self.ssl_port, uid=uid, gid=gid, ssl=self._ssl_settings(),
            internal_user="dovecot" if privileged else me,
            internal_group="dovecot" if privileged else my_group,
            login_user="dovenull" if privileged else me,
            login_extra="" if privileged else "  chroot =\n  user =\n",
            anvil_extra="" if privileged else "  chroot =\n",
            unprivileged="" if privileged else _UNPRIVILEGED, mailboxes=self._mailboxes())

    def _mailboxes(self) -> str:
        if not self.sent_folder:
            return ""
        return ('namespace inbox {\n  inbox = yes\n  separator = /\n'
                f'  mailbox "{self.sent_folder}" {{\n    auto = create\n    special_use = \\Sent\n  }}\n}}')

    def _ssl_settings(self) -> str:
        if not self.tls:
            return "ssl = no"
        return f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{self.root}/tls/key.pem"

    @property
    def certificate(self) -> Path:
        """The server's certificate (tls=True); a self-signed one can be trusted as its own
        authority: ssl.create_default_context(cafile=...)."""
        return self.root / "tls" / "cert.pem"

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def start(self) -> "Dovecot":
        """Start the server and return once its port accepts connections."""
        if self.running:
            return self
        binary = dovecot_binary()
        if binary is None:
            raise FileNotFoundError("dovecot is not installed (Debian: apt install dovecot-imapd)")
        # Otherwise the port would answer on behalf of whoever holds it, and a Dovecot
        # that failed to bind would look started.
        if wait_for_port(self.host, self.port, 0.01):
            raise RuntimeError(f"dovecot: {self.host}:{self.port} is already in use")
        # -F keeps the master as our child, so its pid is known and it is reaped on stop;
        # a new session keeps a Ctrl-C in the terminal from reaching it before we do.
        with open(self.root / "dovecot.stderr", "wb") as errors:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                stdout=errors, stderr=errors, start_new_session=True)
        if not wait_for_port(self.host, self.port, 20, alive=lambda: self._process.poll() is None):
            self.stop()
            raise RuntimeError(f"dovecot did not start on {self.host}:{self.port}:\n{self.log_tail()}")
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop the master and every process it started, and wait for the master to exit.

        The master alone leaves its imap, log and stats processes running, and open
        connections keep working, so the whole process group (the master's pid) goes.
        """
        if self._process is None:
            return
        if self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        _signal_group(self._process.pid, signal.SIGKILL)   # whatever did not go quietly
        self._process = None

    def restart(self) -> "Dovecot":
        """Stop and start again on the same port with the same mail."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop, and remove the directory when this object made it."""
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Dovecot":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("dovecot.stderr", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(dovecot wrote no log)"

    def add_user(self, name: str, password: str = DEFAULT_PASSWORD) -> None:
        """Create (or re-password) a login such as "support@example.com"."""
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"dovecot: unsuitable user name {name!r}")
        with self._lock:
            self._passwords[name] = password
            # One passwd file per user: Dovecot rereads a changed file at most once a
            # second, but a new file is read at once, so a user exists as soon as made.
            aside = self.root / "users" / f".{name}.new"
            aside.write_text(f"{name}:{{PLAIN}}{password}\n", encoding="utf-8")
            aside.chmod(0o644)
            aside.replace(self.root / "users" / name)

    def has_user(self, name: str) -> bool:
        return name in self._passwords

    def password(self, name: str) -> str:
        return self._passwords[name]

    def client(self, user: str) -> IMAPClient:
        """An IMAP connection logged in as `user`; the caller logs out (or uses `with`)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        client.login(user, self._passwords[user])
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: tuple = ()) -> None:
        """Put a message into `user`'s folder (made if missing), as their mail program would."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags)

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw bytes of every message in `user`'s folder, oldest first; nothing is marked read."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _self_signed(folder: Path, host: str) -> None:
    """A throwaway key and certificate for `host`, made with the openssl command."""
    folder.mkdir(exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", f"subjectAltName=DNS:localhost,IP:{host}",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True)


def _mail_owner() -> tuple[int, int]:
    """Who owns the Maildirs: the `mail` system user as root, else the current user."""
    if os.geteuid() == 0:
        mail = pwd.getpwnam("mail")
        return mail.pw_uid, mail.pw_gid
    return os.geteuid(), os.getegid()
