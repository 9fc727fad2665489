"""What our own receiving server says about a mail's sender: its Authentication-Results (RFC 8601).

Anyone can write an `Authentication-Results` header into a mail before sending it, and a
forger who wants to join somebody else's ticket writes `dmarc=pass`. RFC 8601 §5 says a
reader honours only the headers its own servers add, recognised by their authserv-id,
and ignores the others. So the operator names those ids (`[imap] authserv_ids`), and a
header with any other id is not read at all. When several headers carry a trusted id, the
topmost wins: a receiving server prepends its header, so a copy further down is either an
older hop of ours or one the sender wrote to pass for ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Comments (RFC 5322 CFWS) hold free text such as "(sender IP is 192.0.2.1)"; they may nest.
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)(?:\s*/\s*\d+)?\s*=\s*([a-z]+)", re.IGNORECASE | re.ASCII)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|smtp\.mailfrom)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE | re.ASCII)
MAX_COMMENT_DEPTH = 20


@dataclass(frozen=True)
class Authentication:
    """The results of the one trusted header, or `trusted_by=None` when there is none.

    >>> Authentication("mx.example.com", dmarc="fail").failed
    True
    """

    trusted_by: str | None = None   # the authserv-id whose header was read
    dmarc: str | None = None        # pass | fail | none | ... for the From domain
    spf: str | None = None

    @property
    def failed(self) -> bool:
        """DMARC failed, or SPF failed where DMARC did not pass."""
        return self.dmarc == "fail" or (self.spf == "fail" and self.dmarc != "pass")

    @property
    def passed(self) -> bool:
        return self.dmarc == "pass"

    def reason(self, domain: str) -> str:
        """One line for a person: "mx.example.com says DMARC failed for bank.example"."""
        what = "DMARC" if self.dmarc == "fail" else "SPF"
        return f"{self.trusted_by} says {what} failed for {domain}"


NOT_CHECKED = Authentication()


def read(headers: tuple[str, ...] | list[str], trusted_ids, from_address: str) -> Authentication:
    """The verdict of the topmost header whose authserv-id is trusted; NOT_CHECKED otherwise.

    `headers` are the Authentication-Results values in the order the mail carries them
    (top first). A DMARC result naming another From domain (header.from=) is not about
    this sender and is left out.
    """
    trusted = {i.strip().lower() for i in trusted_ids if i and i.strip()}
    if not trusted:
        return NOT_CHECKED
    domain = from_address.rpartition("@")[2].lower()
    for value in headers:
        text = _without_comments(" ".join(value.split()))
        authserv_id, _, rest = text.partition(";")
        if authserv_id.split(" ")[0].strip().strip('"').lower() not in trusted:
            continue
        return _results(authserv_id.split(" ")[0].strip().strip('"').lower(), rest, domain)
    return NOT_CHECKED


def _results(authserv_id: str, rest: str, domain: str) -> Authentication:
    found: dict[str, str] = {}
    for resinfo in rest.split(";"):
        result = _RESULT.match(resinfo)
        if not result:
            continue
        method, verdict = result.group(1).lower(), result.group(2).lower()
        if method not in ("dmarc", "spf") or method in found:
            continue
        named = dict((k.lower(), v.lower().rstrip(".")) for k, v in _PROPERTY.findall(resinfo))
        if method == "dmarc" and named.get("header.from", domain) != domain:
            continue
        found[method] = verdict
    return Authentication(authserv_id, found.get("dmarc"), found.get("spf"))


def _without_comments(text: str) -> str:
    for _ in range(MAX_COMMENT_DEPTH):
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text
