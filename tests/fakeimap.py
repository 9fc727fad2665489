"""A tiny IMAP server speaking the real protocol, able to hang up in the middle of a FETCH.

Dovecot cannot be made to drop a connection halfway through a message literal, so this
fake exists for that one fault. It understands just enough of RFC 3501 for `Inbox`:
CAPABILITY, LOGIN, SELECT/EXAMINE, UID SEARCH, UID FETCH, NOOP, LOGOUT.
"""

from __future__ import annotations

import re
import socketserver
import threading


class FakeImap:
    """Serve `messages` ({uid: raw}) on a loopback port; cut the first `drops` body fetches."""

    def __init__(self, messages: dict[int, bytes], *, uidvalidity: int = 7, drops: int = 0,
                 capabilities: tuple[str, ...] = ("IMAP4rev1", "AUTH=PLAIN")):
        self.messages = dict(messages)
        self.uidvalidity = uidvalidity
        self.drops = drops
        self.capabilities = capabilities
        self.commands: list[str] = []      # every command verb received, in order
        self._lock = threading.Lock()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _session_for(self))
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address

    def __enter__(self) -> "FakeImap":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take_drop(self) -> bool:
        with self._lock:
            if self.drops > 0:
                self.drops -= 1
                return True
            return False


def _session_for(fake: FakeImap) -> type:
    class Session(socketserver.StreamRequestHandler):
        disable_nagle_algorithm = True    # many small writes; no need to wait for ACKs

        def handle(self) -> None:
            self.say("* OK fake IMAP ready")
            for line in self.rfile:
                tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
                verb, _, args = rest.partition(" ")
                verb = verb.upper()
                if verb == "UID":
                    sub, _, args = args.partition(" ")
                    verb = f"UID {sub.upper()}"
                fake.commands.append(verb)
                if not self.answer(tag, verb, args):
                    return

        def say(self, text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

        def answer(self, tag: str, verb: str, args: str) -> bool:
            """Reply to one command; False when the connection should end."""
            if verb == "CAPABILITY":
                self.say("* CAPABILITY " + " ".join(fake.capabilities))
            elif verb in ("SELECT", "EXAMINE"):
                self.say(f"* {len(fake.messages)} EXISTS")
                self.say("* 0 RECENT")
                self.say(f"* OK [UIDVALIDITY {fake.uidvalidity}] UIDs valid")
                self.say(f"* OK [UIDNEXT {max(fake.messages, default=0) + 1}] Predicted next UID")
                self.say("* FLAGS (\\Seen \\Deleted)")
            elif verb == "UID SEARCH":
                self.say("* SEARCH " + " ".join(str(uid) for uid in sorted(fake.messages)))
            elif verb == "UID FETCH":
                return self.fetch(tag, args)
            elif verb == "LOGOUT":
                self.say("* BYE see you")
                self.say(f"{tag} OK LOGOUT completed")
                return False
            elif verb not in ("LOGIN", "NOOP"):
                self.say(f"{tag} BAD unknown command")
                return True
            self.say(f"{tag} OK {verb} completed")
            return True

        def fetch(self, tag: str, args: str) -> bool:
            wanted, _, items = args.partition(" ")
            uids = sorted(_uid_set(wanted) & set(fake.messages))
            for seq, uid in enumerate(uids, 1):
                raw = fake.messages[uid]
                if "BODY" not in items.upper():
                    self.say(f"* {seq} FETCH (UID {uid} RFC822.SIZE {len(raw)})")
                    continue
                self.wfile.write(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode())
                if fake.take_drop():
                    # Half the literal, then hang up, as a crashing server would.
                    self.wfile.write(raw[:len(raw) // 2])
                    self.wfile.flush()
                    return False
                self.wfile.write(raw + b")\r\n")
            self.say(f"{tag} OK FETCH completed")
            return True

    return Session


def _uid_set(text: str) -> set[int]:
    """The UIDs in an IMAP sequence set such as "1,3:5" (bounded ranges only)."""
    uids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        if re.fullmatch(r"\d+", low) and (not high or re.fullmatch(r"\d+", high)):
            uids.update(range(int(low), int(high or low) + 1))
    return uids
